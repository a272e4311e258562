<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
  <context>
    <name>GeoGround</name>
    <message>
      <location filename="../plugin/controller.py" line="482" />
      <source>objects</source>
      <translation>对象</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="81" />
      <source>The whole layer is answered in {} tiles; this can take several minutes. Go on?</source>
      <translation>整个图层将分 {} 个图块处理，可能需要几分钟。继续吗？</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="236" />
      <source>GeoGround</source>
      <translation>GeoGround</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="489" />
      <source>No {} found in this view.</source>
      <translation>此视图中未找到{}。</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="142" />
      <source>Still working on the previous instruction; press Stop to cancel it.</source>
      <translation>仍在处理上一条指令；按“停止”可取消。</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="149" />
      <source>Select a raster layer first.</source>
      <translation>请先选择一个栅格图层。</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="207" />
      <source>Stopped. The files downloaded so far are kept; the next instruction with this model goes on from them (a conversion that was under way starts again).</source>
      <translation>已停止。已下载的文件会保留；下次使用此模型发送指令时将从这些文件继续（正在进行的转换会重新开始）。</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="304" />
      <source>That result layer is no longer in the project.</source>
      <translation>该结果图层已不在项目中。</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="317" />
      <source>Export GeoGround results</source>
      <translation>导出 GeoGround 结果</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="317" />
      <source>GeoPackage (*.gpkg)</source>
      <translation>GeoPackage (*.gpkg)</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="484" />
      <source>No {} found in this layer.</source>
      <translation>此图层中未找到{}。</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="486" />
      <source>No {} found in the selected polygons.</source>
      <translation>选中的多边形中未找到{}。</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="488" />
      <source>No {} found in the drawn rectangle.</source>
      <translation>绘制的矩形中未找到{}。</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="84" />
      <source>The whole layer is answered in {} tiles, about {} min. Go on?</source>
      <translation>整个图层将分 {} 个图块处理，约需 {} 分钟。继续吗？</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="184" />
      <source>Draw a rectangle on the map first (press and drag), then Send again.</source>
      <translation>请先在地图上绘制矩形（按住并拖动），然后再次发送。</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="218" />
      <source>GeoGround: {}</source>
      <translation>GeoGround：{}</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="291" />
      <source>{} object(s) in layer “{}” ({}).</source>
      <translation>图层“{1}”中有 {0} 个对象（{2}）。</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="327" />
      <source>Exported to {}.</source>
      <translation>已导出到 {}。</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="130" />
      <source>Rectangle kept: Send to ask about it.</source>
      <translation>已保留矩形：点击“发送”即可针对该区域提问。</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="132" />
      <source>The rectangle has no area: press and drag on the map.</source>
      <translation>矩形没有面积：请在地图上按住并拖动。</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="146" />
      <source>Cannot run: missing Python packages {}.</source>
      <translation>无法运行：缺少 Python 包 {}。</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="418" />
      <source>Results moved beside the project: {}.</source>
      <translation>结果已移至项目旁：{}。</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="396" />
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
      <location filename="../plugin/processing/algorithms.py" line="48" />
      <source>Segment by instruction</source>
      <translation>按指令分割</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="51" />
      <source>Asks the GeoGround model about the raster (the whole layer, or the extent given) and returns one polygon per object it outlines, with the phrase that names it, a score, and its area in square metres. Example instruction: “Segment all storage tanks”.</source>
      <translation>向 GeoGround 模型询问该栅格（整个图层或给定范围），为其勾勒的每个对象返回一个多边形，并附带描述该对象的短语、得分及以平方米为单位的面积。指令示例：“Segment all storage tanks”。</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="155" />
      <source>Describe with grounded masks</source>
      <translation>带定位掩膜的描述</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="158" />
      <source>Asks the GeoGround model to describe the raster; the answer text is returned in ANSWER and every phrase it grounds becomes polygons in the output layer.</source>
      <translation>请 GeoGround 模型描述该栅格；回答文本通过 ANSWER 返回，其中每个定位短语都会成为输出图层中的多边形。</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="59" />
      <source>Raster layer</source>
      <translation>栅格图层</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="61" />
      <source>Instruction</source>
      <translation>指令</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="63" />
      <source>Area (whole layer when empty)</source>
      <translation>区域（为空时为整个图层）</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="65" />
      <source>Model (name, folder or hub id)</source>
      <translation>模型（名称、文件夹或 Hub ID）</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="69" />
      <source>Device</source>
      <translation>设备</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="74" />
      <source>Answer token limit</source>
      <translation>回答的最大词元数</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="77" />
      <source>Objects</source>
      <translation>对象</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="78" />
      <source>Answer</source>
      <translation>回答</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="83" />
      <source>No raster layer given.</source>
      <translation>未提供栅格图层。</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="86" />
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
      <location filename="../plugin/raster_view.py" line="103" />
      <source>The requested area does not overlap the raster layer.</source>
      <translation>请求的区域与栅格图层不重叠。</translation>
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
      <location filename="../plugin/segmentation.py" line="89" />
      <source>Waiting for the previous GeoGround job to finish…</source>
      <translation>正在等待上一个 GeoGround 任务完成…</translation>
    </message>
    <message>
      <location filename="../plugin/segmentation.py" line="92" />
      <source>Tile {} of {} done.</source>
      <translation>已完成第 {} 个图块，共 {} 个。</translation>
    </message>
    <message>
      <location filename="../plugin/segmentation.py" line="83" />
      <source>Loading the model {} (the first instruction after QGIS starts takes longer)…</source>
      <translation>正在加载模型 {}（QGIS 启动后的第一条指令耗时较长）…</translation>
    </message>
    <message>
      <location filename="../plugin/segmentation.py" line="87" />
      <source>Model loaded in {:.1f} s.</source>
      <translation>模型已加载，用时 {:.1f} 秒。</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="67" />
      <source>Model cache folder</source>
      <translation>模型缓存文件夹</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="73" />
      <source>Model's input size</source>
      <translation>模型输入尺寸</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="77" />
      <source>Default model (name, folder or hub id)</source>
      <translation>默认模型（名称、文件夹或 Hub ID）</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="79" />
      <source>Precision</source>
      <translation>精度</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="80" />
      <source>Tile size (pixels)</source>
      <translation>切片大小（像素）</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="81" />
      <source>Tile overlap (pixels)</source>
      <translation>切片重叠（像素）</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="84" />
      <source>Where models are downloaded and converted (several GB each). Empty: the geoground/models folder of the QGIS profile.</source>
      <translation>模型下载和转换的位置（每个数 GB）。留空：QGIS 配置文件中的 geoground/models 文件夹。</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="88" />
      <source>The model the chat dock starts with: demo, a published name, a local folder or a Hugging Face hub id.</source>
      <translation>对话面板启动时使用的模型：demo、已发布的名称、本地文件夹或 Hugging Face hub 标识。</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="91" />
      <source>Where the model runs: auto uses the GPU (CUDA) when there is one, otherwise the CPU.</source>
      <translation>模型运行的位置：auto 在有 GPU（CUDA）时使用 GPU，否则使用 CPU。</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="92" />
      <source>Number format of the model's weights: auto picks bfloat16 or float16 on a GPU and float32 on the CPU; lower precision needs less memory.</source>
      <translation>模型权重的数值格式：auto 在 GPU 上选择 bfloat16 或 float16，在 CPU 上选择 float32；精度越低占用内存越少。</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="96" />
      <source>Areas larger than this are answered in overlapping tiles of this size. “Model's input size” lets each model use its own.</source>
      <translation>大于此尺寸的区域按此尺寸的重叠图块处理。“模型输入尺寸”让每个模型使用自己的尺寸。</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="100" />
      <source>How much neighbouring tiles overlap, so objects on a tile edge are seen whole (at most half a tile; with the model's input size, 1/8 of the tile is used).</source>
      <translation>相邻图块的重叠量，使位于图块边缘的对象能被完整看到（最多半个图块；使用模型输入尺寸时取图块的 1/8）。</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="104" />
      <source>The longest answer the model may write, in tokens (about ¾ of a word each).</source>
      <translation>模型可写出的最长回答，以词元计（每个约为 ¾ 个单词）。</translation>
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
      <location filename="../plugin/ui/chat_dock.py" line="54" />
      <source>Current view</source>
      <translation>当前视图</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="55" />
      <source>Whole layer</source>
      <translation>整个图层</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="56" />
      <source>Selected polygon</source>
      <translation>选中的多边形</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="57" />
      <source>Drawn rectangle</source>
      <translation>绘制的矩形</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="58" />
      <source>The part of the raster the instruction is about</source>
      <translation>指令所针对的栅格范围</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="61" />
      <source>Draw</source>
      <translation>绘制</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="62" />
      <source>Draw a rectangle on the map (area “Drawn rectangle”)</source>
      <translation>在地图上绘制矩形（范围“绘制的矩形”）</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="66" />
      <source>Model: a name, a local folder or a Hugging Face hub id</source>
      <translation>模型：名称、本地文件夹或 Hugging Face Hub ID</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="70" />
      <source>Where the model runs</source>
      <translation>模型运行的设备</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="73" />
      <source>Export…</source>
      <translation>导出…</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="74" />
      <source>Export result layers and the conversation to a GeoPackage</source>
      <translation>将结果图层和对话导出为 GeoPackage</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="98" />
      <source>e.g. Segment all storage tanks</source>
      <translation>例如：Segment all storage tanks</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="100" />
      <source>Send</source>
      <translation>发送</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="102" />
      <source>Stop</source>
      <translation>停止</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="229" />
      <source>You:</source>
      <translation>你：</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="229" />
      <source>GeoGround:</source>
      <translation>GeoGround：</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="120" />
      <source>Type an instruction first, for example “Segment all buildings”.</source>
      <translation>请先输入指令，例如“Segment all buildings”。</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="123" />
      <source>Add or select a raster layer first.</source>
      <translation>请先添加或选择一个栅格图层。</translation>
    </message>
    <message>
      <location filename="../plugin/ui/download_dialog.py" line="17" />
      <source>Cancel</source>
      <translation>取消</translation>
    </message>
  </context>
</TS>
