<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
  <context>
    <name>GeoGround</name>
    <message>
      <location filename="../plugin/controller.py" line="131" />
      <source>the current view</source>
      <translation>当前视图</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="710" />
      <source>objects</source>
      <translation>对象</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="95" />
      <source>The whole layer is answered in {} tiles; this can take several minutes. Go on?</source>
      <translation>整个图层将分 {} 个图块处理，可能需要几分钟。继续吗？</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="122" />
      <source>Find all like these ({})</source>
      <translation>查找所有相似对象（{}）</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="227" />
      <source>Click objects on the map: each click is an example. Esc ends picking; then press “Find all like these”.</source>
      <translation>在地图上点击对象：每次点击即为一个示例。按 Esc 结束选取；然后点击“查找所有相似对象”。</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="432" />
      <source>GeoGround</source>
      <translation>GeoGround</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="717" />
      <source>No {} found in this view.</source>
      <translation>此视图中未找到{}。</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="121" />
      <source>Find all like these ({}): {}</source>
      <translation>查找所有相似对象（{}）：{}</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="128" />
      <source>the whole layer</source>
      <translation>整个图层</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="129" />
      <source>the selected polygons</source>
      <translation>选中的多边形</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="130" />
      <source>the drawn rectangle</source>
      <translation>绘制的矩形</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="222" />
      <source>Add or select a raster layer first: the examples are objects on it.</source>
      <translation>请先添加或选择一个栅格图层：示例是该图层上的对象。</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="262" />
      <source>Still working on the previous instruction; press Stop to cancel it.</source>
      <translation>仍在处理上一条指令；按“停止”可取消。</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="269" />
      <source>Select a raster layer first.</source>
      <translation>请先选择一个栅格图层。</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="302" />
      <source>No examples yet: press “Pick examples” and click objects on the map, or select polygons or points and press “Use selected features”.</source>
      <translation>尚无示例：请点击“选取示例”并在地图上点击对象，或选择多边形或点后点击“使用选中要素”。</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="340" />
      <source>{} of the {} examples lie outside the area searched ({}): pan or zoom the map to take them in, choose another area, or press “Clear examples”.</source>
      <translation>有 {} 个示例（共 {} 个）位于搜索范围（{}）之外：请平移或缩放地图以将其纳入、选择其他范围，或点击“清除示例”。</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="403" />
      <source>Stopped. The files downloaded so far are kept; the next instruction with this model goes on from them (a conversion that was under way starts again).</source>
      <translation>已停止。已下载的文件会保留；下次使用此模型发送指令时将从这些文件继续（正在进行的转换会重新开始）。</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="530" />
      <source>That result layer is no longer in the project.</source>
      <translation>该结果图层已不在项目中。</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="543" />
      <source>Export GeoGround results</source>
      <translation>导出 GeoGround 结果</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="543" />
      <source>GeoPackage (*.gpkg)</source>
      <translation>GeoPackage (*.gpkg)</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="712" />
      <source>No {} found in this layer.</source>
      <translation>此图层中未找到{}。</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="714" />
      <source>No {} found in the selected polygons.</source>
      <translation>选中的多边形中未找到{}。</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="716" />
      <source>No {} found in the drawn rectangle.</source>
      <translation>绘制的矩形中未找到{}。</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="98" />
      <source>The whole layer is answered in {} tiles, about {} min. Go on?</source>
      <translation>整个图层将分 {} 个图块处理，约需 {} 分钟。继续吗？</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="244" />
      <source>{} taken from the selected features of “{}”.</source>
      <translation>{}已取自“{}”中选中的要素。</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="246" />
      <source>The selected features of “{}” are examples already.</source>
      <translation>“{}”中选中的要素已经是示例。</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="329" />
      <source>like the examples</source>
      <translation>与示例相似</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="336" />
      <source>The example lies outside the area searched ({}): pan or zoom the map to take it in, choose another area, or press “Clear examples”.</source>
      <translation>该示例位于搜索范围（{}）之外：请平移或缩放地图以将其纳入、选择其他范围，或点击“清除示例”。</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="380" />
      <source>Draw a rectangle on the map first (press and drag), then Send again.</source>
      <translation>请先在地图上绘制矩形（按住并拖动），然后再次发送。</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="414" />
      <source>GeoGround: {}</source>
      <translation>GeoGround：{}</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="486" />
      <source>objects like the examples</source>
      <translation>与示例相似的对象</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="496" />
      <source>{} object(s) in layer “{}” ({}).</source>
      <translation>图层“{1}”中有 {0} 个对象（{2}）。</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="506" />
      <source>An example lies outside the area searched ({}): pan or zoom the map to take it in, choose another area, or press “Clear examples”. ({})</source>
      <translation>有一个示例位于搜索范围（{}）之外：请平移或缩放地图以将其纳入、选择其他范围，或点击“清除示例”。（{}）</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="511" />
      <source>An example lies over pixels without data: pick examples on objects of the image. ({})</source>
      <translation>有一个示例位于无数据像素上：请在影像中的对象上选取示例。（{}）</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="515" />
      <source>The model “{}” takes text prompts only: it cannot find objects like examples. Choose a model with an example encoder, or type an instruction instead.</source>
      <translation>模型“{}”仅接受文本提示：无法查找与示例相似的对象。请选择带有示例编码器的模型，或改为输入指令。</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="553" />
      <source>Exported to {}.</source>
      <translation>已导出到 {}。</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="189" />
      <source>Rectangle kept: Send to ask about it.</source>
      <translation>已保留矩形：点击“发送”即可针对该区域提问。</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="191" />
      <source>The rectangle has no area: press and drag on the map.</source>
      <translation>矩形没有面积：请在地图上按住并拖动。</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="248" />
      <source>{} feature(s) outside the raster layer were left out.</source>
      <translation>已排除栅格图层之外的 {} 个要素。</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="266" />
      <source>Cannot run: missing Python packages {}.</source>
      <translation>无法运行：缺少 Python 包 {}。</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="375" />
      <source>Draw a rectangle on the map first (press and drag), then press “Find all like these” again.</source>
      <translation>请先在地图上绘制矩形（按住并拖动），然后再次点击“查找所有相似对象”。</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="646" />
      <source>Results moved beside the project: {}.</source>
      <translation>结果已移至项目旁：{}。</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="624" />
      <source>The project is not a file: GeoGround results stay in {} until it is saved as a file.</source>
      <translation>项目不是文件：在项目另存为文件之前，GeoGround 结果保留在 {} 中。</translation>
    </message>
    <message>
      <location filename="../plugin/export.py" line="36" />
      <source>There are no result layers to export.</source>
      <translation>没有可导出的结果图层。</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="286" />
      <source>Installing GeoGround dependencies</source>
      <translation>正在安装 GeoGround 依赖项</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="72" />
      <source>Nothing is downloaded: pip takes the packages from the chosen folder only.</source>
      <translation>不会下载任何内容：pip 只从所选文件夹获取软件包。</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="75" />
      <source>PyTorch with its CUDA libraries about 2.5–3 GB</source>
      <translation>PyTorch 及其 CUDA 库约 2.5–3 GB</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="77" />
      <source>PyTorch's standard macOS build (CPU and Apple GPU) is installed.</source>
      <translation>已安装 PyTorch 的标准 macOS 版本（CPU 和 Apple GPU）。</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="80" />
      <source>No NVIDIA GPU found: PyTorch's CPU build is installed.</source>
      <translation>未找到 NVIDIA GPU：已安装 PyTorch 的 CPU 版本。</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="85" />
      <source>the other packages about {}</source>
      <translation>其他软件包约 {}</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="172" />
      <source>pip failed (exit code {}): {}</source>
      <translation>pip 执行失败（退出码 {}）：{}</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="226" />
      <source>Checking that the engine can load its packages</source>
      <translation>正在检查引擎能否加载其软件包</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="247" />
      <source>Installed, but the engine cannot load its packages ({}).</source>
      <translation>已安装，但引擎无法加载其软件包（{}）。</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="74" />
      <source>NVIDIA GPU found: PyTorch's build for CUDA {}.{} is installed.</source>
      <translation>找到 NVIDIA GPU：已安装适用于 CUDA {}.{} 的 PyTorch 版本。</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="84" />
      <source>Download: about {}.</source>
      <translation>下载：约 {}。</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="86" />
      <source>Download: about {} ({}, {}).</source>
      <translation>下载：约 {}（{}，{}）。</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="188" />
      <source>Starting pip</source>
      <translation>正在启动 pip</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="78" />
      <source>PyTorch about {}</source>
      <translation>PyTorch 约 {}</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="128" />
      <source>Looking up {}</source>
      <translation>正在查找 {}</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="245" />
      <source>still missing: {}</source>
      <translation>仍缺少：{}</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="132" />
      <source>Reading {}</source>
      <translation>正在读取 {}</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="281" />
      <source>Stopped.</source>
      <translation>已停止。</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="141" />
      <source>Downloading {}</source>
      <translation>正在下载 {}</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="146" />
      <source>Installing 1 package</source>
      <translation>正在安装 1 个软件包</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="150" />
      <source>Installed</source>
      <translation>已安装</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="192" />
      <source>The Python QGIS runs on ({}) has no pip: install pip for it (Debian, Ubuntu: python3-pip).</source>
      <translation>QGIS 使用的 Python（{}）没有 pip：请为其安装 pip（Debian、Ubuntu：python3-pip）。</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="232" />
      <source>The packages were installed, but the engine's Python failed to load them: {}</source>
      <translation>软件包已安装，但引擎的 Python 无法加载它们：{}</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="283" />
      <source>Engine dependencies installed in {}.</source>
      <translation>引擎依赖项已安装到 {}。</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="146" />
      <source>Installing {} packages</source>
      <translation>正在安装 {} 个软件包</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="21" />
      <source>storage tanks</source>
      <translation>储罐</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="22" />
      <source>buildings</source>
      <translation>建筑物</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="23" />
      <source>ships</source>
      <translation>船只</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="24" />
      <source>airplanes</source>
      <translation>飞机</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="25" />
      <source>vehicles</source>
      <translation>车辆</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="26" />
      <source>roads</source>
      <translation>道路</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="27" />
      <source>water bodies</source>
      <translation>水体</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="70" />
      <source>GeoGround chat</source>
      <translation>GeoGround 对话</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="78" />
      <source>Install engine dependencies…</source>
      <translation>安装引擎依赖项…</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="133" />
      <source>Install engine dependencies</source>
      <translation>安装引擎依赖项</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="144" />
      <source>Install from the internet</source>
      <translation>从互联网安装</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="145" />
      <source>Install from a folder of wheels…</source>
      <translation>从 wheel 文件夹安装…</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="158" />
      <source>Installing the engine's packages…</source>
      <translation>正在安装引擎的软件包…</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="184" />
      <source>Segment all…</source>
      <translation>分割所有…</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="191" />
      <source>Custom instruction…</source>
      <translation>自定义指令…</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="203" />
      <source>Instruction for this layer:</source>
      <translation>对此图层的指令：</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="121" />
      <source>The engine's packages are being installed already.</source>
      <translation>引擎的软件包已在安装中。</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="128" />
      <source>All engine dependencies are installed.</source>
      <translation>所有引擎依赖项均已安装。</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="142" />
      <source>Installing from a folder of wheels downloads nothing.</source>
      <translation>从 wheel 文件夹安装不会下载任何内容。</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="150" />
      <source>Folder of wheels</source>
      <translation>wheel 文件夹</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="92" />
      <source>Use Raster → GeoGround → Install engine dependencies…</source>
      <translation>请使用 栅格 → GeoGround → 安装引擎依赖项…</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="135" />
      <source>Install {} into {}? QGIS's own Python packages are not changed.</source>
      <translation>将 {} 安装到 {}？QGIS 自带的 Python 包不会被修改。</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="90" />
      <source>The engine needs Python packages that are not installed: {}.</source>
      <translation>引擎需要以下尚未安装的 Python 包：{}。</translation>
    </message>
    <message>
      <location filename="../plugin/model_download.py" line="103" />
      <source>The model {} is not in the model cache and the Hugging Face hub cannot be reached. Download it once on a connected machine (it goes to the model cache folder of the GeoGround settings), or put a local model folder in the model picker.</source>
      <translation>模型 {} 不在模型缓存中，且无法连接 Hugging Face Hub。请在联网的计算机上下载一次（保存到 GeoGround 设置中的模型缓存文件夹），或在模型选择框中填写本地模型文件夹。</translation>
    </message>
    <message>
      <location filename="../plugin/model_download.py" line="189" />
      <source>Downloading the model {0} from the Hugging Face hub (about {1} GB; it is converted once after)…</source>
      <translation>正在从 Hugging Face hub 下载模型 {0}（约 {1} GB；下载后只转换一次）…</translation>
    </message>
    <message>
      <location filename="../plugin/model_download.py" line="184" />
      <source>Downloading the model {} from the Hugging Face hub…</source>
      <translation>正在从 Hugging Face Hub 下载模型 {}…</translation>
    </message>
    <message>
      <location filename="../plugin/model_download.py" line="186" />
      <source>Converting {0} for GeoGround (once; about {1} GB in the model cache)…</source>
      <translation>正在为 GeoGround 转换 {0}（仅一次；在模型缓存中约占 {1} GB）…</translation>
    </message>
    <message>
      <location filename="../plugin/model_download.py" line="117" />
      <source>The model {0} is not prepared in the model cache and the Hugging Face hub cannot be reached. On a connected machine, send an instruction with it once: it downloads {1} (about {2} GB) and converts it (about {3} GB more) into the model cache folder of the GeoGround settings.</source>
      <translation>模型 {0} 尚未在模型缓存中准备好，且无法连接 Hugging Face hub。请在联网的机器上用该模型发送一次指令：它会下载 {1}（约 {2} GB）并转换（另需约 {3} GB），保存到 GeoGround 设置中的模型缓存文件夹。</translation>
    </message>
    <message>
      <location filename="../plugin/model_download.py" line="235" />
      <source>GeoGround: preparing {}</source>
      <translation>GeoGround：正在准备 {}</translation>
    </message>
    <message>
      <location filename="../plugin/model_download.py" line="243" />
      <source>GeoGround: downloading {}</source>
      <translation>GeoGround：正在下载 {}</translation>
    </message>
    <message>
      <location filename="../plugin/model_download.py" line="169" />
      <source>The Hugging Face hub has no model {} (or it is private): check the name.</source>
      <translation>Hugging Face Hub 上没有模型 {}（或该模型为私有）：请检查名称。</translation>
    </message>
    <message>
      <location filename="../plugin/model_download.py" line="172" />
      <source>The Hugging Face hub refused {}: {}</source>
      <translation>Hugging Face Hub 拒绝了 {}：{}</translation>
    </message>
    <message>
      <location filename="../plugin/model_download.py" line="175" />
      <source>The download of {} stopped: {}. Send again to continue it.</source>
      <translation>{} 的下载已中断：{}。再次发送即可继续下载。</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="139" />
      <source>Segment by instruction</source>
      <translation>按指令分割</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="142" />
      <source>Asks the GeoGround model about the raster (the whole layer, or the extent given) and returns one polygon per object it outlines, with the phrase that names it, a score, and its area in square metres. Example instruction: “Segment all storage tanks”.</source>
      <translation>向 GeoGround 模型询问该栅格（整个图层或给定范围），为其勾勒的每个对象返回一个多边形，并附带描述该对象的短语、得分及以平方米为单位的面积。指令示例：“Segment all storage tanks”。</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="188" />
      <source>Describe with grounded masks</source>
      <translation>带定位掩膜的描述</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="191" />
      <source>Asks the GeoGround model to describe the raster; the answer text is returned in ANSWER and every phrase it grounds becomes polygons in the output layer.</source>
      <translation>请 GeoGround 模型描述该栅格；回答文本通过 ANSWER 返回，其中每个定位短语都会成为输出图层中的多边形。</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="41" />
      <source>Raster layer</source>
      <translation>栅格图层</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="45" />
      <source>Area (whole layer when empty)</source>
      <translation>区域（为空时为整个图层）</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="47" />
      <source>Model (name, folder or hub id)</source>
      <translation>模型（名称、文件夹或 Hub ID）</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="51" />
      <source>Device</source>
      <translation>设备</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="57" />
      <source>Objects</source>
      <translation>对象</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="58" />
      <source>Answer</source>
      <translation>回答</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="64" />
      <source>No raster layer given.</source>
      <translation>未提供栅格图层。</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="152" />
      <source>Instruction</source>
      <translation>指令</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="157" />
      <source>Answer token limit</source>
      <translation>回答的最大词元数</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="166" />
      <source>The instruction is empty.</source>
      <translation>指令为空。</translation>
    </message>
    <message>
      <location filename="../plugin/processing/dataset.py" line="46" />
      <source>Build training set</source>
      <translation>创建训练集</translation>
    </message>
    <message>
      <location filename="../plugin/processing/dataset.py" line="49" />
      <source>Cuts the raster into overlapping chips and turns the polygons into one mask per object, named by the class field (or by one class name for all), with grounded questions and answers for training. The folder also holds a report (objects per class, what was left out and why) and a contact sheet. Polygons in another CRS are reprojected to the raster's.</source>
      <translation>将栅格切分为相互重叠的图块，并把每个多边形变成一个对象的掩膜，类别名取自类别字段（或对全部多边形使用同一个类别名），同时生成用于训练的带定位的问答。文件夹中还包含一份报告（各类别的对象数、被排除的内容及原因）和一张缩略图总览。其他坐标参考系中的多边形会被重投影到栅格的坐标参考系。</translation>
    </message>
    <message>
      <location filename="../plugin/processing/dataset.py" line="60" />
      <source>Example polygons</source>
      <translation>示例多边形</translation>
    </message>
    <message>
      <location filename="../plugin/processing/dataset.py" line="66" />
      <source>Class field</source>
      <translation>类别字段</translation>
    </message>
    <message>
      <location filename="../plugin/processing/dataset.py" line="74" />
      <source>Class name (when there is no class field)</source>
      <translation>类别名（没有类别字段时）</translation>
    </message>
    <message>
      <location filename="../plugin/processing/dataset.py" line="78" />
      <source>Area (whole raster when empty)</source>
      <translation>范围（为空时为整个栅格）</translation>
    </message>
    <message>
      <location filename="../plugin/processing/dataset.py" line="81" />
      <source>Chip size (pixels)</source>
      <translation>图块大小（像素）</translation>
    </message>
    <message>
      <location filename="../plugin/processing/dataset.py" line="84" />
      <source>Chip overlap (pixels)</source>
      <translation>图块重叠（像素）</translation>
    </message>
    <message>
      <location filename="../plugin/processing/dataset.py" line="86" />
      <source>Training set folder</source>
      <translation>训练集文件夹</translation>
    </message>
    <message>
      <location filename="../plugin/processing/dataset.py" line="87" />
      <source>Report</source>
      <translation>报告</translation>
    </message>
    <message>
      <location filename="../plugin/processing/dataset.py" line="106" />
      <source>Give either a class field or a class name (one of the two).</source>
      <translation>请给出类别字段或类别名（二者之一）。</translation>
    </message>
    <message>
      <location filename="../plugin/processing/dataset.py" line="117" />
      <source>The polygon layer has no features.</source>
      <translation>多边形图层中没有要素。</translation>
    </message>
    <message>
      <location filename="../plugin/processing/dataset.py" line="98" />
      <source>The raster must be a file (GeoTIFF, JPEG 2000, VRT...): {}</source>
      <translation>栅格必须是文件（GeoTIFF、JPEG 2000、VRT……）：{}</translation>
    </message>
    <message>
      <location filename="../plugin/processing/dataset.py" line="118" />
      <source>{} polygons written for the engine; cutting chips…</source>
      <translation>已为引擎写出 {} 个多边形；正在切分图块……</translation>
    </message>
    <message>
      <location filename="../plugin/processing/dataset.py" line="149" />
      <source>Cannot write the polygons: {}</source>
      <translation>无法写出多边形：{}</translation>
    </message>
    <message>
      <location filename="../plugin/processing/examples.py" line="39" />
      <source>Find all like these</source>
      <translation>查找所有相似对象</translation>
    </message>
    <message>
      <location filename="../plugin/processing/examples.py" line="42" />
      <source>Finds every object in the raster (the whole layer, or the extent given) that looks like the examples: outline a few objects as polygons, or click them as points, in any layer (only its selected features when asked). Examples in another CRS are reprojected to the raster's, and each must lie in the area searched. The objects found are named by the phrase given (“object” without one) and get a score and their area in square metres. The model must have an example encoder.</source>
      <translation>在栅格（整个图层或给定范围）中查找与示例相似的每个对象：在任意图层中将几个对象勾勒为多边形，或点击为点（按要求时仅使用其选中要素）。其他坐标参考系中的示例会被重投影到栅格的坐标参考系，且每个示例都必须位于搜索范围内。找到的对象以给定的短语命名（未给定时为“object”），并附带得分及以平方米为单位的面积。模型必须带有示例编码器。</translation>
    </message>
    <message>
      <location filename="../plugin/processing/examples.py" line="179" />
      <source>The example lies outside the area searched (the raster layer, or the area given): move it inside, or widen the area.</source>
      <translation>该示例位于搜索范围（栅格图层或给定范围）之外：请将其移入范围内，或扩大范围。</translation>
    </message>
    <message>
      <location filename="../plugin/processing/examples.py" line="183" />
      <source>Examples outside the area searched (the raster layer, or the area given): {} of {}, feature ids {}. Move them inside, widen the area, or leave them out.</source>
      <translation>位于搜索范围（栅格图层或给定范围）之外的示例：{} 个（共 {} 个），要素 ID {}。请将它们移入范围内、扩大范围，或将其排除。</translation>
    </message>
    <message>
      <location filename="../plugin/processing/examples.py" line="55" />
      <source>Examples (polygons or points on objects)</source>
      <translation>示例（对象上的多边形或点）</translation>
    </message>
    <message>
      <location filename="../plugin/processing/examples.py" line="61" />
      <source>Name of the objects found (optional)</source>
      <translation>找到的对象的名称（可选）</translation>
    </message>
    <message>
      <location filename="../plugin/processing/examples.py" line="78" />
      <source>The requested area does not overlap the raster layer.</source>
      <translation>请求的区域与栅格图层不重叠。</translation>
    </message>
    <message>
      <location filename="../plugin/processing/examples.py" line="82" />
      <source>No examples: the examples layer has no polygon or point (or none is selected when only selected features are used). Outline or click a few objects like those to find.</source>
      <translation>没有示例：示例图层中没有多边形或点（或在仅使用选中要素时未选中任何要素）。请勾勒或点击几个要查找的那类对象。</translation>
    </message>
    <message>
      <location filename="../plugin/processing/examples.py" line="90" />
      <source>Examples given: {}.</source>
      <translation>给定的示例：{}。</translation>
    </message>
    <message>
      <location filename="../plugin/processing/examples.py" line="93" />
      <source>Find all like these: {}</source>
      <translation>查找所有相似对象：{}</translation>
    </message>
    <message>
      <location filename="../plugin/processing/examples.py" line="102" />
      <source>The model “{}” takes text prompts only: it cannot find objects like examples. Choose a model with an example encoder.</source>
      <translation>模型“{}”仅接受文本提示：无法查找与示例相似的对象。请选择带有示例编码器的模型。</translation>
    </message>
    <message>
      <location filename="../plugin/processing/examples.py" line="107" />
      <source>The examples cannot be used: {}</source>
      <translation>无法使用这些示例：{}</translation>
    </message>
    <message>
      <location filename="../plugin/processing/examples.py" line="133" />
      <source>The example of feature id {} cannot be reprojected to the raster's CRS: {}</source>
      <translation>要素 ID 为 {} 的示例无法重投影到栅格的坐标参考系：{}</translation>
    </message>
    <message>
      <location filename="../plugin/processing/examples.py" line="141" />
      <source>Examples left out (neither polygons nor points): {}.</source>
      <translation>已排除的示例（既非多边形也非点）：{}。</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="51" />
      <source>Fine-tune model</source>
      <translation>微调模型</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="54" />
      <source>Teaches a model the objects of your own training sets (folders made by “Build training set”; give several separated by ;). The base model (a name such as demo, or a model folder) is only read: the result is a new model folder, listed with your models once the run ends. The time budget includes loading, measuring the speed of a step and saving (an advanced setting trains a set number of steps instead). The log shows the loss every few steps. A cancelled run writes nothing.</source>
      <translation>用你自己的训练集（由“创建训练集”生成的文件夹；多个文件夹以 ; 分隔）教模型认识其中的对象。基础模型（如 demo 这样的名称，或模型文件夹）只会被读取：结果是一个新的模型文件夹，运行结束后会列入你的模型。时间预算包括加载、测量单步速度和保存（高级设置可改为训练固定的步数）。日志每隔几步显示一次损失。取消的运行不会写入任何内容。</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="94" />
      <source>Number of steps, instead of the time budget</source>
      <translation>步数（代替时间预算）</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="247" />
      <source>{} steps in {:.0f} s; loss {:.4f} at the first step, {:.4f} over the last tenth of the steps. Classes: {}. Parts trained: {}. The new model is in {}.</source>
      <translation>共 {} 步，用时 {:.0f} 秒；第一步的损失为 {:.4f}，最后十分之一步的损失为 {:.4f}。类别：{}。训练的部分：{}。新模型位于 {}。</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="66" />
      <source>Training set folder (several: separate them with ;)</source>
      <translation>训练集文件夹（多个时用 ; 分隔）</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="73" />
      <source>Another training set folder</source>
      <translation>另一个训练集文件夹</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="80" />
      <source>Base model (name or folder)</source>
      <translation>基础模型（名称或文件夹）</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="86" />
      <source>Time budget (minutes)</source>
      <translation>时间预算（分钟）</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="101" />
      <source>New model folder</source>
      <translation>新模型文件夹</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="102" />
      <source>Model folder</source>
      <translation>模型文件夹</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="181" />
      <source>Give at least one training set folder (made by “Build training set”).</source>
      <translation>请至少给出一个训练集文件夹（由“创建训练集”生成）。</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="197" />
      <source>Choose a folder for the new model.</source>
      <translation>请为新模型选择一个文件夹。</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="201" />
      <source>Choose a folder for the new model: a temporary folder is deleted when QGIS closes.</source>
      <translation>请为新模型选择一个文件夹：临时文件夹会在 QGIS 关闭时被删除。</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="121" />
      <source>Fine-tuning {} on {} for {} steps: loading the model…</source>
      <translation>正在微调 {}（训练集：{}，{} 步）：正在加载模型…</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="126" />
      <source>Fine-tuning {} on {} for at most {:g} minutes: loading the model and timing a step…</source>
      <translation>正在微调 {}（训练集：{}，最多 {:g} 分钟）：正在加载模型并测量单步用时…</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="205" />
      <source>{} already exists and is not an empty folder: choose a new folder for the model.</source>
      <translation>{} 已存在且不是空文件夹：请为模型选择一个新文件夹。</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="115" />
      <source>The base model folder {} holds no model (no config.json).</source>
      <translation>基础模型文件夹 {} 中没有模型（没有 config.json）。</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="151" />
      <source>Fine-tuning failed: {}</source>
      <translation>微调失败：{}</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="166" />
      <source>{} is now listed with your models.</source>
      <translation>{} 已列入你的模型。</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="184" />
      <source>The training set folder {} does not exist.</source>
      <translation>训练集文件夹 {} 不存在。</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="187" />
      <source>{} is not a training set folder (no dataset.json): make one with “Build training set”.</source>
      <translation>{} 不是训练集文件夹（没有 dataset.json）：请用“创建训练集”生成一个。</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="242" />
      <source>Step {} of {}: loss {:.4f}</source>
      <translation>第 {} 步，共 {} 步：损失 {:.4f}</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="148" />
      <source>Fine-tuning cancelled: no model was written, and the base model {} is unchanged.</source>
      <translation>微调已取消：未写入任何模型，基础模型 {} 保持不变。</translation>
    </message>
    <message>
      <location filename="../plugin/processing/provider.py" line="24" />
      <source>GeoGround pixel-grounded raster assistant</source>
      <translation>GeoGround 像素级定位栅格助手</translation>
    </message>
    <message>
      <location filename="../plugin/raster_view.py" line="81" />
      <source>The raster layer is not valid (missing or unreadable file?).</source>
      <translation>栅格图层无效（文件缺失或无法读取？）。</translation>
    </message>
    <message>
      <location filename="../plugin/raster_view.py" line="84" />
      <source>QGIS cannot read this layer's pixels in the background.</source>
      <translation>QGIS 无法在后台读取此图层的像素。</translation>
    </message>
    <message>
      <location filename="../plugin/raster_view.py" line="132" />
      <source>The layer has no CRS: results are placed in the layer's own coordinates.</source>
      <translation>该图层没有坐标参考系：结果将使用图层自身的坐标。</translation>
    </message>
    <message>
      <location filename="../plugin/raster_view.py" line="113" />
      <source>The view is large; it was read at 1/{:.1f} of the layer's resolution. Zoom in for full detail.</source>
      <translation>视图较大，已按图层分辨率的 1/{:.1f} 读取。放大可获得完整细节。</translation>
    </message>
    <message>
      <location filename="../plugin/raster_view.py" line="121" />
      <source>Band {} has a data type GeoGround cannot read.</source>
      <translation>波段 {} 的数据类型 GeoGround 无法读取。</translation>
    </message>
    <message>
      <location filename="../plugin/raster_view.py" line="124" />
      <source>QGIS could not read band {} of the layer.</source>
      <translation>QGIS 无法读取该图层的波段 {}。</translation>
    </message>
    <message>
      <location filename="../plugin/result_layers.py" line="135" />
      <source>{} already has a layer named {}; it is not replaced.</source>
      <translation>{} 中已有名为 {} 的图层；不会替换它。</translation>
    </message>
    <message>
      <location filename="../plugin/result_layers.py" line="148" />
      <source>Cannot write {}: {}</source>
      <translation>无法写入 {}：{}</translation>
    </message>
    <message>
      <location filename="../plugin/result_layers.py" line="198" />
      <source>The result layer {} could not be reopened from {}.</source>
      <translation>无法从 {1} 重新打开结果图层 {0}。</translation>
    </message>
    <message>
      <location filename="../plugin/result_layers.py" line="92" />
      <source>{} is not a GeoPackage: {}</source>
      <translation>{} 不是 GeoPackage：{}</translation>
    </message>
    <message>
      <location filename="../plugin/result_layers.py" line="153" />
      <source>Cannot write a feature to {}: {}</source>
      <translation>无法向 {} 写入要素：{}</translation>
    </message>
    <message>
      <location filename="../plugin/result_layers.py" line="187" />
      <source>Cannot create the folder for {}: {}</source>
      <translation>无法为 {} 创建文件夹：{}</translation>
    </message>
    <message>
      <location filename="../plugin/result_layers.py" line="251" />
      <source>Cannot export layer {}: {}</source>
      <translation>无法导出图层 {}：{}</translation>
    </message>
    <message>
      <location filename="../plugin/scopes.py" line="45" />
      <source>No polygon is selected: select polygons of a polygon layer first.</source>
      <translation>没有选中的多边形：请先在面图层中选择多边形。</translation>
    </message>
    <message>
      <location filename="../plugin/scopes.py" line="42" />
      <source>Several polygon layers have a selection: make the one to use the active layer.</source>
      <translation>多个面图层中有选中要素：请将要使用的图层设为当前图层。</translation>
    </message>
    <message>
      <location filename="../plugin/scopes.py" line="44" />
      <source>Select one or more polygons of “{}” first.</source>
      <translation>请先在“{}”中选择一个或多个多边形。</translation>
    </message>
    <message>
      <location filename="../plugin/scopes.py" line="53" />
      <source>The selected features of “{}” have no polygon area.</source>
      <translation>“{}”中选中的要素没有多边形面积。</translation>
    </message>
    <message>
      <location filename="../plugin/scopes.py" line="58" />
      <source>The selected polygons do not overlap the raster layer “{}”.</source>
      <translation>选中的多边形与栅格图层“{}”不重叠。</translation>
    </message>
    <message>
      <location filename="../plugin/segmentation.py" line="97" />
      <source>Waiting for the previous GeoGround job to finish…</source>
      <translation>正在等待上一个 GeoGround 任务完成…</translation>
    </message>
    <message>
      <location filename="../plugin/segmentation.py" line="100" />
      <source>Tile {} of {} done.</source>
      <translation>已完成第 {} 个图块，共 {} 个。</translation>
    </message>
    <message>
      <location filename="../plugin/segmentation.py" line="91" />
      <source>Loading the model {} (the first instruction after QGIS starts takes longer)…</source>
      <translation>正在加载模型 {}（QGIS 启动后的第一条指令耗时较长）…</translation>
    </message>
    <message>
      <location filename="../plugin/segmentation.py" line="95" />
      <source>Model loaded in {:.1f} s.</source>
      <translation>模型已加载，用时 {:.1f} 秒。</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="157" />
      <source>Model cache folder</source>
      <translation>模型缓存文件夹</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="163" />
      <source>Model's input size</source>
      <translation>模型输入尺寸</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="167" />
      <source>Default model (name, folder or hub id)</source>
      <translation>默认模型（名称、文件夹或 Hub ID）</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="169" />
      <source>Precision</source>
      <translation>精度</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="170" />
      <source>Tile size (pixels)</source>
      <translation>切片大小（像素）</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="171" />
      <source>Tile overlap (pixels)</source>
      <translation>切片重叠（像素）</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="174" />
      <source>Where models are downloaded and converted (several GB each). Empty: the geoground/models folder of the QGIS profile.</source>
      <translation>模型下载和转换的位置（每个数 GB）。留空：QGIS 配置文件中的 geoground/models 文件夹。</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="178" />
      <source>The model the chat dock starts with: demo, a published name, a local folder or a Hugging Face hub id.</source>
      <translation>对话面板启动时使用的模型：demo、已发布的名称、本地文件夹或 Hugging Face hub 标识。</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="181" />
      <source>Where the model runs: auto uses the GPU (CUDA) when there is one, otherwise the CPU.</source>
      <translation>模型运行的位置：auto 在有 GPU（CUDA）时使用 GPU，否则使用 CPU。</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="182" />
      <source>Number format of the model's weights: auto picks bfloat16 or float16 on a GPU and float32 on the CPU; lower precision needs less memory.</source>
      <translation>模型权重的数值格式：auto 在 GPU 上选择 bfloat16 或 float16，在 CPU 上选择 float32；精度越低占用内存越少。</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="186" />
      <source>Areas larger than this are answered in overlapping tiles of this size. “Model's input size” lets each model use its own.</source>
      <translation>大于此尺寸的区域按此尺寸的重叠图块处理。“模型输入尺寸”让每个模型使用自己的尺寸。</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="190" />
      <source>How much neighbouring tiles overlap, so objects on a tile edge are seen whole (at most half a tile; with the model's input size, 1/8 of the tile is used).</source>
      <translation>相邻图块的重叠量，使位于图块边缘的对象能被完整看到（最多半个图块；使用模型输入尺寸时取图块的 1/8）。</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="194" />
      <source>The longest answer the model may write, in tokens (about ¾ of a word each).</source>
      <translation>模型可写出的最长回答，以词元计（每个约为 ¾ 个单词）。</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="87" />
      <source>{} is not a model folder (it has no config.json).</source>
      <translation>{} 不是模型文件夹（其中没有 config.json）。</translation>
    </message>
    <message>
      <location filename="../plugin/tasks.py" line="117" />
      <source>Unexpected error: {} (details in the GeoGround log panel)</source>
      <translation>意外错误：{}（详情见 GeoGround 日志面板）</translation>
    </message>
    <message>
      <location filename="../plugin/tasks.py" line="95" />
      <source>The task failed.</source>
      <translation>任务失败。</translation>
    </message>
    <message>
      <location filename="../plugin/tasks.py" line="106" />
      <source>Not enough memory for this view: zoom in, lower the tile size, or use the CPU. ({})</source>
      <translation>内存不足以处理此视图：请放大、减小切片大小或改用 CPU。（{}）</translation>
    </message>
    <message>
      <location filename="../plugin/tasks.py" line="110" />
      <source>The engine cannot answer this: {}</source>
      <translation>引擎无法回答：{}</translation>
    </message>
    <message>
      <location filename="../plugin/tasks.py" line="112" />
      <source>The model failed: {} (details in the GeoGround log panel)</source>
      <translation>模型出错：{}（详情见 GeoGround 日志面板）</translation>
    </message>
    <message>
      <location filename="../plugin/tasks.py" line="114" />
      <source>The engine process stopped: {} (details in the GeoGround log panel)</source>
      <translation>引擎进程已停止：{}（详情见 GeoGround 日志面板）</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="60" />
      <source>Current view</source>
      <translation>当前视图</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="61" />
      <source>Whole layer</source>
      <translation>整个图层</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="62" />
      <source>Selected polygon</source>
      <translation>选中的多边形</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="63" />
      <source>Drawn rectangle</source>
      <translation>绘制的矩形</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="64" />
      <source>The part of the raster the instruction is about</source>
      <translation>指令所针对的栅格范围</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="67" />
      <source>Draw</source>
      <translation>绘制</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="68" />
      <source>Draw a rectangle on the map (area “Drawn rectangle”)</source>
      <translation>在地图上绘制矩形（范围“绘制的矩形”）</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="72" />
      <source>Model: a name, a local folder or a Hugging Face hub id</source>
      <translation>模型：名称、本地文件夹或 Hugging Face Hub ID</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="77" />
      <source>Where the model runs</source>
      <translation>模型运行的设备</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="80" />
      <source>Export…</source>
      <translation>导出…</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="81" />
      <source>Export result layers and the conversation to a GeoPackage</source>
      <translation>将结果图层和对话导出为 GeoPackage</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="101" />
      <source>Pick examples</source>
      <translation>选取示例</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="104" />
      <source>Click objects on the map: each click is an example (Esc or another map tool ends picking)</source>
      <translation>在地图上点击对象：每次点击即为一个示例（按 Esc 或切换到其他地图工具可结束选取）</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="109" />
      <source>Active layer</source>
      <translation>当前图层</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="111" />
      <source>The polygon or point layer whose selected features are examples</source>
      <translation>其选中要素作为示例的面图层或点图层</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="112" />
      <source>Use selected features</source>
      <translation>使用选中要素</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="114" />
      <source>The selected polygons or points of that layer become examples</source>
      <translation>该图层中选中的多边形或点将作为示例</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="118" />
      <source>Clear examples</source>
      <translation>清除示例</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="132" />
      <source>Find every object like the examples in the chosen area; text typed below (e.g. “storage tank”) names them</source>
      <translation>在所选范围内查找与示例相似的所有对象；下方输入的文字（例如“储罐”）用作它们的名称</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="150" />
      <source>e.g. Segment all storage tanks</source>
      <translation>例如：Segment all storage tanks</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="152" />
      <source>Send</source>
      <translation>发送</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="154" />
      <source>Stop</source>
      <translation>停止</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="313" />
      <source>You:</source>
      <translation>你：</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="313" />
      <source>GeoGround:</source>
      <translation>GeoGround：</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="172" />
      <source>Type an instruction first, for example “Segment all buildings”.</source>
      <translation>请先输入指令，例如“Segment all buildings”。</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="175" />
      <source>Add or select a raster layer first.</source>
      <translation>请先添加或选择一个栅格图层。</translation>
    </message>
    <message>
      <location filename="../plugin/ui/download_dialog.py" line="17" />
      <source>Cancel</source>
      <translation>取消</translation>
    </message>
    <message>
      <location filename="../plugin/ui/example_picker.py" line="69" />
      <source>No examples yet</source>
      <translation>尚无示例</translation>
    </message>
    <message>
      <location filename="../plugin/ui/example_picker.py" line="71" />
      <source>1 example</source>
      <translation>1 个示例</translation>
    </message>
    <message>
      <location filename="../plugin/ui/example_picker.py" line="72" />
      <source>{} examples</source>
      <translation>{} 个示例</translation>
    </message>
    <message>
      <location filename="../plugin/ui/example_picker.py" line="226" />
      <source>Choose a polygon or point layer (or make one the active layer) whose selected features are the examples.</source>
      <translation>请选择一个面图层或点图层（或将其设为当前图层），其选中要素即为示例。</translation>
    </message>
    <message>
      <location filename="../plugin/ui/example_picker.py" line="208" />
      <source>That point is outside the raster layer “{}”: click on an object of the raster.</source>
      <translation>该点位于栅格图层“{}”之外：请点击栅格上的对象。</translation>
    </message>
    <message>
      <location filename="../plugin/ui/example_picker.py" line="232" />
      <source>“{}” is not a polygon or point layer: examples are polygons or points.</source>
      <translation>“{}”不是面图层或点图层：示例须为多边形或点。</translation>
    </message>
    <message>
      <location filename="../plugin/ui/example_picker.py" line="238" />
      <source>Select one or more features of “{}” first: they become the examples.</source>
      <translation>请先在“{}”中选择一个或多个要素：它们将作为示例。</translation>
    </message>
    <message>
      <location filename="../plugin/ui/example_picker.py" line="259" />
      <source>The selected features of “{}” do not overlap the raster layer “{}”.</source>
      <translation>“{}”中选中的要素与栅格图层“{}”不重叠。</translation>
    </message>
    <message>
      <location filename="../plugin/ui/example_picker.py" line="190" />
      <source>The example could not be added: {}</source>
      <translation>无法添加该示例：{}</translation>
    </message>
    <message>
      <location filename="../plugin/ui/example_picker.py" line="205" />
      <source>That point has no place in the raster layer's CRS: {}</source>
      <translation>该点无法在栅格图层的坐标参考系中定位：{}</translation>
    </message>
  </context>
</TS>
