<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="fr">
  <context>
    <name>GeoGround</name>
    <message>
      <location filename="../plugin/controller.py" line="131" />
      <source>the current view</source>
      <translation>la vue actuelle</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="710" />
      <source>objects</source>
      <translation>objets</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="95" />
      <source>The whole layer is answered in {} tiles; this can take several minutes. Go on?</source>
      <translation>La couche entière est traitée en {} tuiles ; cela peut prendre plusieurs minutes. Continuer ?</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="122" />
      <source>Find all like these ({})</source>
      <translation>Trouver tous les objets semblables ({})</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="227" />
      <source>Click objects on the map: each click is an example. Esc ends picking; then press “Find all like these”.</source>
      <translation>Cliquez sur des objets de la carte : chaque clic est un exemple. Échap met fin au choix des exemples ; appuyez ensuite sur « Trouver tous les objets semblables ».</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="432" />
      <source>GeoGround</source>
      <translation>GeoGround</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="717" />
      <source>No {} found in this view.</source>
      <translation>Aucun résultat pour « {} » dans cette vue.</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="121" />
      <source>Find all like these ({}): {}</source>
      <translation>Trouver tous les objets semblables ({}) : {}</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="128" />
      <source>the whole layer</source>
      <translation>toute la couche</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="129" />
      <source>the selected polygons</source>
      <translation>les polygones sélectionnés</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="130" />
      <source>the drawn rectangle</source>
      <translation>le rectangle dessiné</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="222" />
      <source>Add or select a raster layer first: the examples are objects on it.</source>
      <translation>Ajoutez ou sélectionnez d’abord une couche raster : les exemples sont des objets de cette couche.</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="262" />
      <source>Still working on the previous instruction; press Stop to cancel it.</source>
      <translation>Le traitement de l’instruction précédente est en cours ; appuyez sur Arrêter pour l’annuler.</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="269" />
      <source>Select a raster layer first.</source>
      <translation>Sélectionnez d’abord une couche raster.</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="302" />
      <source>No examples yet: press “Pick examples” and click objects on the map, or select polygons or points and press “Use selected features”.</source>
      <translation>Aucun exemple pour l’instant : appuyez sur « Choisir des exemples » et cliquez sur des objets de la carte, ou sélectionnez des polygones ou des points et appuyez sur « Utiliser les entités sélectionnées ».</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="340" />
      <source>{} of the {} examples lie outside the area searched ({}): pan or zoom the map to take them in, choose another area, or press “Clear examples”.</source>
      <translation>{} des {} exemples sont hors de la zone de recherche ({}) : déplacez la carte ou zoomez pour les y inclure, choisissez une autre zone ou appuyez sur « Effacer les exemples ».</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="403" />
      <source>Stopped. The files downloaded so far are kept; the next instruction with this model goes on from them (a conversion that was under way starts again).</source>
      <translation>Arrêté. Les fichiers déjà téléchargés sont conservés ; la prochaine instruction avec ce modèle reprend à partir d’eux (une conversion en cours recommence).</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="530" />
      <source>That result layer is no longer in the project.</source>
      <translation>Cette couche de résultats n’est plus dans le projet.</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="543" />
      <source>Export GeoGround results</source>
      <translation>Exporter les résultats GeoGround</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="543" />
      <source>GeoPackage (*.gpkg)</source>
      <translation>GeoPackage (*.gpkg)</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="712" />
      <source>No {} found in this layer.</source>
      <translation>Aucun résultat pour « {} » dans cette couche.</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="714" />
      <source>No {} found in the selected polygons.</source>
      <translation>Aucun résultat pour « {} » dans les polygones sélectionnés.</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="716" />
      <source>No {} found in the drawn rectangle.</source>
      <translation>Aucun résultat pour « {} » dans le rectangle dessiné.</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="98" />
      <source>The whole layer is answered in {} tiles, about {} min. Go on?</source>
      <translation>La couche entière est traitée en {} tuiles, environ {} min. Continuer ?</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="244" />
      <source>{} taken from the selected features of “{}”.</source>
      <translation>{} pris parmi les entités sélectionnées de « {} ».</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="246" />
      <source>The selected features of “{}” are examples already.</source>
      <translation>Les entités sélectionnées de « {} » sont déjà des exemples.</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="329" />
      <source>like the examples</source>
      <translation>semblables aux exemples</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="336" />
      <source>The example lies outside the area searched ({}): pan or zoom the map to take it in, choose another area, or press “Clear examples”.</source>
      <translation>L’exemple est hors de la zone de recherche ({}) : déplacez la carte ou zoomez pour l’y inclure, choisissez une autre zone ou appuyez sur « Effacer les exemples ».</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="380" />
      <source>Draw a rectangle on the map first (press and drag), then Send again.</source>
      <translation>Dessinez d’abord un rectangle sur la carte (cliquer-glisser), puis cliquez à nouveau sur Envoyer.</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="414" />
      <source>GeoGround: {}</source>
      <translation>GeoGround : {}</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="486" />
      <source>objects like the examples</source>
      <translation>objets semblables aux exemples</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="496" />
      <source>{} object(s) in layer “{}” ({}).</source>
      <translation>{} objet(s) dans la couche « {} » ({}).</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="506" />
      <source>An example lies outside the area searched ({}): pan or zoom the map to take it in, choose another area, or press “Clear examples”. ({})</source>
      <translation>Un exemple est hors de la zone de recherche ({}) : déplacez la carte ou zoomez pour l’y inclure, choisissez une autre zone ou appuyez sur « Effacer les exemples ». ({})</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="511" />
      <source>An example lies over pixels without data: pick examples on objects of the image. ({})</source>
      <translation>Un exemple se trouve sur des pixels sans données : choisissez des exemples sur des objets de l’image. ({})</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="515" />
      <source>The model “{}” takes text prompts only: it cannot find objects like examples. Choose a model with an example encoder, or type an instruction instead.</source>
      <translation>Le modèle « {} » n’accepte que des instructions textuelles : il ne peut pas trouver d’objets semblables à des exemples. Choisissez un modèle doté d’un encodeur d’exemples, ou saisissez plutôt une instruction.</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="553" />
      <source>Exported to {}.</source>
      <translation>Exporté vers {}.</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="189" />
      <source>Rectangle kept: Send to ask about it.</source>
      <translation>Rectangle retenu : cliquez sur Envoyer pour l’interroger.</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="191" />
      <source>The rectangle has no area: press and drag on the map.</source>
      <translation>Le rectangle n’a pas de surface : cliquez et faites glisser sur la carte.</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="248" />
      <source>{} feature(s) outside the raster layer were left out.</source>
      <translation>{} entité(s) hors de la couche raster ont été écartée(s).</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="266" />
      <source>Cannot run: missing Python packages {}.</source>
      <translation>Exécution impossible : paquets Python manquants {}.</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="375" />
      <source>Draw a rectangle on the map first (press and drag), then press “Find all like these” again.</source>
      <translation>Dessinez d’abord un rectangle sur la carte (cliquer-glisser), puis cliquez à nouveau sur « Trouver tous les objets semblables ».</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="646" />
      <source>Results moved beside the project: {}.</source>
      <translation>Résultats déplacés à côté du projet : {}.</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="624" />
      <source>The project is not a file: GeoGround results stay in {} until it is saved as a file.</source>
      <translation>Le projet n’est pas un fichier : les résultats GeoGround restent dans {} jusqu’à ce qu’il soit enregistré dans un fichier.</translation>
    </message>
    <message>
      <location filename="../plugin/export.py" line="36" />
      <source>There are no result layers to export.</source>
      <translation>Il n’y a aucune couche de résultats à exporter.</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="286" />
      <source>Installing GeoGround dependencies</source>
      <translation>Installation des dépendances de GeoGround</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="72" />
      <source>Nothing is downloaded: pip takes the packages from the chosen folder only.</source>
      <translation>Rien n’est téléchargé : pip prend les paquets uniquement dans le dossier choisi.</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="75" />
      <source>PyTorch with its CUDA libraries about 2.5–3 GB</source>
      <translation>PyTorch avec ses bibliothèques CUDA environ 2,5 à 3 Go</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="77" />
      <source>PyTorch's standard macOS build (CPU and Apple GPU) is installed.</source>
      <translation>La version macOS standard de PyTorch (CPU et GPU Apple) est installée.</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="80" />
      <source>No NVIDIA GPU found: PyTorch's CPU build is installed.</source>
      <translation>Aucun GPU NVIDIA trouvé : la version CPU de PyTorch est installée.</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="85" />
      <source>the other packages about {}</source>
      <translation>les autres paquets environ {}</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="172" />
      <source>pip failed (exit code {}): {}</source>
      <translation>pip a échoué (code de sortie {}) : {}</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="226" />
      <source>Checking that the engine can load its packages</source>
      <translation>Vérification que le moteur peut charger ses paquets</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="247" />
      <source>Installed, but the engine cannot load its packages ({}).</source>
      <translation>Installé, mais le moteur ne peut pas charger ses paquets ({}).</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="74" />
      <source>NVIDIA GPU found: PyTorch's build for CUDA {}.{} is installed.</source>
      <translation>GPU NVIDIA trouvé : la version de PyTorch pour CUDA {}.{} est installée.</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="84" />
      <source>Download: about {}.</source>
      <translation>Téléchargement : environ {}.</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="86" />
      <source>Download: about {} ({}, {}).</source>
      <translation>Téléchargement : environ {} ({}, {}).</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="188" />
      <source>Starting pip</source>
      <translation>Démarrage de pip</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="78" />
      <source>PyTorch about {}</source>
      <translation>PyTorch environ {}</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="128" />
      <source>Looking up {}</source>
      <translation>Recherche de {}</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="245" />
      <source>still missing: {}</source>
      <translation>encore manquants : {}</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="132" />
      <source>Reading {}</source>
      <translation>Lecture de {}</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="281" />
      <source>Stopped.</source>
      <translation>Arrêté.</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="141" />
      <source>Downloading {}</source>
      <translation>Téléchargement de {}</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="146" />
      <source>Installing 1 package</source>
      <translation>Installation d’un paquet</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="150" />
      <source>Installed</source>
      <translation>Installé</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="192" />
      <source>The Python QGIS runs on ({}) has no pip: install pip for it (Debian, Ubuntu: python3-pip).</source>
      <translation>Le Python de QGIS ({}) n’a pas pip : installez pip pour lui (Debian, Ubuntu : python3-pip).</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="232" />
      <source>The packages were installed, but the engine's Python failed to load them: {}</source>
      <translation>Les paquets ont été installés, mais le Python du moteur n’a pas pu les charger : {}</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="283" />
      <source>Engine dependencies installed in {}.</source>
      <translation>Dépendances du moteur installées dans {}.</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="146" />
      <source>Installing {} packages</source>
      <translation>Installation de {} paquets</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="21" />
      <source>storage tanks</source>
      <translation>réservoirs de stockage</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="22" />
      <source>buildings</source>
      <translation>bâtiments</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="23" />
      <source>ships</source>
      <translation>navires</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="24" />
      <source>airplanes</source>
      <translation>avions</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="25" />
      <source>vehicles</source>
      <translation>véhicules</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="26" />
      <source>roads</source>
      <translation>routes</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="27" />
      <source>water bodies</source>
      <translation>plans d’eau</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="70" />
      <source>GeoGround chat</source>
      <translation>Discussion GeoGround</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="78" />
      <source>Install engine dependencies…</source>
      <translation>Installer les dépendances du moteur…</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="133" />
      <source>Install engine dependencies</source>
      <translation>Installer les dépendances du moteur</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="144" />
      <source>Install from the internet</source>
      <translation>Installer depuis Internet</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="145" />
      <source>Install from a folder of wheels…</source>
      <translation>Installer depuis un dossier de wheels…</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="158" />
      <source>Installing the engine's packages…</source>
      <translation>Installation des paquets du moteur…</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="184" />
      <source>Segment all…</source>
      <translation>Segmenter tous les…</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="191" />
      <source>Custom instruction…</source>
      <translation>Instruction personnalisée…</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="203" />
      <source>Instruction for this layer:</source>
      <translation>Instruction pour cette couche :</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="121" />
      <source>The engine's packages are being installed already.</source>
      <translation>Les paquets du moteur sont déjà en cours d’installation.</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="128" />
      <source>All engine dependencies are installed.</source>
      <translation>Toutes les dépendances du moteur sont installées.</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="142" />
      <source>Installing from a folder of wheels downloads nothing.</source>
      <translation>L’installation depuis un dossier de wheels ne télécharge rien.</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="150" />
      <source>Folder of wheels</source>
      <translation>Dossier de wheels</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="92" />
      <source>Use Raster → GeoGround → Install engine dependencies…</source>
      <translation>Utilisez Raster → GeoGround → Installer les dépendances du moteur…</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="135" />
      <source>Install {} into {}? QGIS's own Python packages are not changed.</source>
      <translation>Installer {} dans {} ? Les paquets Python de QGIS ne sont pas modifiés.</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="90" />
      <source>The engine needs Python packages that are not installed: {}.</source>
      <translation>Le moteur a besoin de paquets Python qui ne sont pas installés : {}.</translation>
    </message>
    <message>
      <location filename="../plugin/model_download.py" line="103" />
      <source>The model {} is not in the model cache and the Hugging Face hub cannot be reached. Download it once on a connected machine (it goes to the model cache folder of the GeoGround settings), or put a local model folder in the model picker.</source>
      <translation>Le modèle {} n’est pas dans le cache des modèles et le hub Hugging Face est injoignable. Téléchargez-le une fois sur une machine connectée (il est placé dans le dossier de cache des modèles des paramètres GeoGround), ou indiquez un dossier de modèle local dans le choix du modèle.</translation>
    </message>
    <message>
      <location filename="../plugin/model_download.py" line="189" />
      <source>Downloading the model {0} from the Hugging Face hub (about {1} GB; it is converted once after)…</source>
      <translation>Téléchargement du modèle {0} depuis le hub Hugging Face (environ {1} Go ; il est ensuite converti une seule fois)…</translation>
    </message>
    <message>
      <location filename="../plugin/model_download.py" line="184" />
      <source>Downloading the model {} from the Hugging Face hub…</source>
      <translation>Téléchargement du modèle {} depuis le hub Hugging Face…</translation>
    </message>
    <message>
      <location filename="../plugin/model_download.py" line="186" />
      <source>Converting {0} for GeoGround (once; about {1} GB in the model cache)…</source>
      <translation>Conversion de {0} pour GeoGround (une seule fois ; environ {1} Go dans le cache des modèles)…</translation>
    </message>
    <message>
      <location filename="../plugin/model_download.py" line="117" />
      <source>The model {0} is not prepared in the model cache and the Hugging Face hub cannot be reached. On a connected machine, send an instruction with it once: it downloads {1} (about {2} GB) and converts it (about {3} GB more) into the model cache folder of the GeoGround settings.</source>
      <translation>Le modèle {0} n’est pas préparé dans le cache des modèles et le hub Hugging Face est injoignable. Sur une machine connectée, envoyez une fois une instruction avec ce modèle : il télécharge {1} (environ {2} Go) et le convertit (environ {3} Go de plus) dans le dossier de cache des modèles des paramètres de GeoGround.</translation>
    </message>
    <message>
      <location filename="../plugin/model_download.py" line="235" />
      <source>GeoGround: preparing {}</source>
      <translation>GeoGround : préparation de {}</translation>
    </message>
    <message>
      <location filename="../plugin/model_download.py" line="243" />
      <source>GeoGround: downloading {}</source>
      <translation>GeoGround : téléchargement de {}</translation>
    </message>
    <message>
      <location filename="../plugin/model_download.py" line="169" />
      <source>The Hugging Face hub has no model {} (or it is private): check the name.</source>
      <translation>Le hub Hugging Face n’a pas de modèle {} (ou il est privé) : vérifiez le nom.</translation>
    </message>
    <message>
      <location filename="../plugin/model_download.py" line="172" />
      <source>The Hugging Face hub refused {}: {}</source>
      <translation>Le hub Hugging Face a refusé {} : {}</translation>
    </message>
    <message>
      <location filename="../plugin/model_download.py" line="175" />
      <source>The download of {} stopped: {}. Send again to continue it.</source>
      <translation>Le téléchargement de {} s’est arrêté : {}. Envoyez à nouveau pour le poursuivre.</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="139" />
      <source>Segment by instruction</source>
      <translation>Segmenter selon une instruction</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="142" />
      <source>Asks the GeoGround model about the raster (the whole layer, or the extent given) and returns one polygon per object it outlines, with the phrase that names it, a score, and its area in square metres. Example instruction: “Segment all storage tanks”.</source>
      <translation>Interroge le modèle GeoGround sur le raster (toute la couche ou l’emprise indiquée) et renvoie un polygone par objet détouré, avec l’expression qui le nomme, un score et sa surface en mètres carrés. Exemple d’instruction : « Segment all storage tanks ».</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="188" />
      <source>Describe with grounded masks</source>
      <translation>Décrire avec des masques ancrés</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="191" />
      <source>Asks the GeoGround model to describe the raster; the answer text is returned in ANSWER and every phrase it grounds becomes polygons in the output layer.</source>
      <translation>Demande au modèle GeoGround de décrire le raster ; le texte de la réponse est renvoyé dans ANSWER et chaque expression ancrée devient des polygones dans la couche de sortie.</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="41" />
      <source>Raster layer</source>
      <translation>Couche raster</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="45" />
      <source>Area (whole layer when empty)</source>
      <translation>Zone (toute la couche si vide)</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="47" />
      <source>Model (name, folder or hub id)</source>
      <translation>Modèle (nom, dossier ou identifiant du hub)</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="51" />
      <source>Device</source>
      <translation>Périphérique</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="57" />
      <source>Objects</source>
      <translation>Objets</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="58" />
      <source>Answer</source>
      <translation>Réponse</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="64" />
      <source>No raster layer given.</source>
      <translation>Aucune couche raster fournie.</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="152" />
      <source>Instruction</source>
      <translation>Instruction</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="157" />
      <source>Answer token limit</source>
      <translation>Nombre maximal de jetons de réponse</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="166" />
      <source>The instruction is empty.</source>
      <translation>L’instruction est vide.</translation>
    </message>
    <message>
      <location filename="../plugin/processing/dataset.py" line="46" />
      <source>Build training set</source>
      <translation>Créer un jeu d’entraînement</translation>
    </message>
    <message>
      <location filename="../plugin/processing/dataset.py" line="49" />
      <source>Cuts the raster into overlapping chips and turns the polygons into one mask per object, named by the class field (or by one class name for all), with grounded questions and answers for training. The folder also holds a report (objects per class, what was left out and why) and a contact sheet. Polygons in another CRS are reprojected to the raster's.</source>
      <translation>Découpe le raster en vignettes qui se chevauchent et fait de chaque polygone le masque d’un objet, nommé par le champ de classe (ou par un même nom de classe pour tous), avec des questions et des réponses ancrées pour l’entraînement. Le dossier contient aussi un rapport (objets par classe, ce qui a été écarté et pourquoi) et une planche contact. Les polygones dans un autre SCR sont reprojetés dans celui du raster.</translation>
    </message>
    <message>
      <location filename="../plugin/processing/dataset.py" line="60" />
      <source>Example polygons</source>
      <translation>Polygones d’exemple</translation>
    </message>
    <message>
      <location filename="../plugin/processing/dataset.py" line="66" />
      <source>Class field</source>
      <translation>Champ de classe</translation>
    </message>
    <message>
      <location filename="../plugin/processing/dataset.py" line="74" />
      <source>Class name (when there is no class field)</source>
      <translation>Nom de classe (sans champ de classe)</translation>
    </message>
    <message>
      <location filename="../plugin/processing/dataset.py" line="78" />
      <source>Area (whole raster when empty)</source>
      <translation>Zone (tout le raster si vide)</translation>
    </message>
    <message>
      <location filename="../plugin/processing/dataset.py" line="81" />
      <source>Chip size (pixels)</source>
      <translation>Taille des vignettes (pixels)</translation>
    </message>
    <message>
      <location filename="../plugin/processing/dataset.py" line="84" />
      <source>Chip overlap (pixels)</source>
      <translation>Chevauchement des vignettes (pixels)</translation>
    </message>
    <message>
      <location filename="../plugin/processing/dataset.py" line="86" />
      <source>Training set folder</source>
      <translation>Dossier du jeu d’entraînement</translation>
    </message>
    <message>
      <location filename="../plugin/processing/dataset.py" line="87" />
      <source>Report</source>
      <translation>Rapport</translation>
    </message>
    <message>
      <location filename="../plugin/processing/dataset.py" line="106" />
      <source>Give either a class field or a class name (one of the two).</source>
      <translation>Indiquez un champ de classe ou un nom de classe (l’un des deux).</translation>
    </message>
    <message>
      <location filename="../plugin/processing/dataset.py" line="117" />
      <source>The polygon layer has no features.</source>
      <translation>La couche de polygones ne contient aucune entité.</translation>
    </message>
    <message>
      <location filename="../plugin/processing/dataset.py" line="98" />
      <source>The raster must be a file (GeoTIFF, JPEG 2000, VRT...): {}</source>
      <translation>Le raster doit être un fichier (GeoTIFF, JPEG 2000, VRT…) : {}</translation>
    </message>
    <message>
      <location filename="../plugin/processing/dataset.py" line="118" />
      <source>{} polygons written for the engine; cutting chips…</source>
      <translation>{} polygones transmis au moteur ; découpage des vignettes…</translation>
    </message>
    <message>
      <location filename="../plugin/processing/dataset.py" line="149" />
      <source>Cannot write the polygons: {}</source>
      <translation>Impossible d’écrire les polygones : {}</translation>
    </message>
    <message>
      <location filename="../plugin/processing/examples.py" line="39" />
      <source>Find all like these</source>
      <translation>Trouver tous les objets semblables</translation>
    </message>
    <message>
      <location filename="../plugin/processing/examples.py" line="42" />
      <source>Finds every object in the raster (the whole layer, or the extent given) that looks like the examples: outline a few objects as polygons, or click them as points, in any layer (only its selected features when asked). Examples in another CRS are reprojected to the raster's, and each must lie in the area searched. The objects found are named by the phrase given (“object” without one) and get a score and their area in square metres. The model must have an example encoder.</source>
      <translation>Trouve dans le raster (toute la couche ou l’emprise indiquée) chaque objet qui ressemble aux exemples : détourez quelques objets sous forme de polygones, ou cliquez dessus pour en faire des points, dans n’importe quelle couche (seulement ses entités sélectionnées si demandé). Les exemples dans un autre SCR sont reprojetés dans celui du raster, et chacun doit se trouver dans la zone de recherche. Les objets trouvés sont nommés par l’expression indiquée (« object » à défaut) et reçoivent un score et leur surface en mètres carrés. Le modèle doit disposer d’un encodeur d’exemples.</translation>
    </message>
    <message>
      <location filename="../plugin/processing/examples.py" line="179" />
      <source>The example lies outside the area searched (the raster layer, or the area given): move it inside, or widen the area.</source>
      <translation>L’exemple est hors de la zone de recherche (la couche raster ou la zone indiquée) : déplacez-le à l’intérieur ou élargissez la zone.</translation>
    </message>
    <message>
      <location filename="../plugin/processing/examples.py" line="183" />
      <source>Examples outside the area searched (the raster layer, or the area given): {} of {}, feature ids {}. Move them inside, widen the area, or leave them out.</source>
      <translation>Exemples hors de la zone de recherche (la couche raster ou la zone indiquée) : {} sur {}, identifiants d’entités {}. Déplacez-les à l’intérieur, élargissez la zone ou écartez-les.</translation>
    </message>
    <message>
      <location filename="../plugin/processing/examples.py" line="55" />
      <source>Examples (polygons or points on objects)</source>
      <translation>Exemples (polygones ou points sur des objets)</translation>
    </message>
    <message>
      <location filename="../plugin/processing/examples.py" line="61" />
      <source>Name of the objects found (optional)</source>
      <translation>Nom des objets trouvés (facultatif)</translation>
    </message>
    <message>
      <location filename="../plugin/processing/examples.py" line="78" />
      <source>The requested area does not overlap the raster layer.</source>
      <translation>La zone demandée ne recouvre pas la couche raster.</translation>
    </message>
    <message>
      <location filename="../plugin/processing/examples.py" line="82" />
      <source>No examples: the examples layer has no polygon or point (or none is selected when only selected features are used). Outline or click a few objects like those to find.</source>
      <translation>Aucun exemple : la couche d’exemples n’a ni polygone ni point (ou aucun n’est sélectionné alors que seules les entités sélectionnées sont utilisées). Détourez quelques objets semblables à ceux à trouver, ou cliquez dessus.</translation>
    </message>
    <message>
      <location filename="../plugin/processing/examples.py" line="90" />
      <source>Examples given: {}.</source>
      <translation>Exemples fournis : {}.</translation>
    </message>
    <message>
      <location filename="../plugin/processing/examples.py" line="93" />
      <source>Find all like these: {}</source>
      <translation>Trouver tous les objets semblables : {}</translation>
    </message>
    <message>
      <location filename="../plugin/processing/examples.py" line="102" />
      <source>The model “{}” takes text prompts only: it cannot find objects like examples. Choose a model with an example encoder.</source>
      <translation>Le modèle « {} » n’accepte que des instructions textuelles : il ne peut pas trouver d’objets semblables à des exemples. Choisissez un modèle doté d’un encodeur d’exemples.</translation>
    </message>
    <message>
      <location filename="../plugin/processing/examples.py" line="107" />
      <source>The examples cannot be used: {}</source>
      <translation>Les exemples ne peuvent pas être utilisés : {}</translation>
    </message>
    <message>
      <location filename="../plugin/processing/examples.py" line="133" />
      <source>The example of feature id {} cannot be reprojected to the raster's CRS: {}</source>
      <translation>L’exemple de l’entité d’identifiant {} ne peut pas être reprojeté dans le SCR du raster : {}</translation>
    </message>
    <message>
      <location filename="../plugin/processing/examples.py" line="141" />
      <source>Examples left out (neither polygons nor points): {}.</source>
      <translation>Exemples écartés (ni polygones ni points) : {}.</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="51" />
      <source>Fine-tune model</source>
      <translation>Affiner un modèle</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="54" />
      <source>Teaches a model the objects of your own training sets (folders made by “Build training set”; give several separated by ;). The base model (a name such as demo, or a model folder) is only read: the result is a new model folder, listed with your models once the run ends. The time budget includes loading, measuring the speed of a step and saving (an advanced setting trains a set number of steps instead). The log shows the loss every few steps. A cancelled run writes nothing.</source>
      <translation>Apprend à un modèle les objets de vos propres jeux d’entraînement (dossiers créés par « Créer un jeu d’entraînement » ; indiquez-en plusieurs séparés par ;). Le modèle de base (un nom comme demo, ou un dossier de modèle) est seulement lu : le résultat est un nouveau dossier de modèle, ajouté à vos modèles à la fin de l’exécution. Le budget de temps comprend le chargement, la mesure de la vitesse d’une étape et l’enregistrement (un paramètre avancé entraîne plutôt un nombre fixe d’étapes). Le journal affiche la perte à intervalles de quelques étapes. Une exécution annulée n’écrit rien.</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="94" />
      <source>Number of steps, instead of the time budget</source>
      <translation>Nombre d’étapes, au lieu du budget de temps</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="247" />
      <source>{} steps in {:.0f} s; loss {:.4f} at the first step, {:.4f} over the last tenth of the steps. Classes: {}. Parts trained: {}. The new model is in {}.</source>
      <translation>{} étapes en {:.0f} s ; perte {:.4f} à la première étape, {:.4f} sur le dernier dixième des étapes. Classes : {}. Parties entraînées : {}. Le nouveau modèle est dans {}.</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="66" />
      <source>Training set folder (several: separate them with ;)</source>
      <translation>Dossier du jeu d’entraînement (plusieurs : séparez-les par ;)</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="73" />
      <source>Another training set folder</source>
      <translation>Autre dossier de jeu d’entraînement</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="80" />
      <source>Base model (name or folder)</source>
      <translation>Modèle de base (nom ou dossier)</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="86" />
      <source>Time budget (minutes)</source>
      <translation>Budget de temps (minutes)</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="101" />
      <source>New model folder</source>
      <translation>Nouveau dossier de modèle</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="102" />
      <source>Model folder</source>
      <translation>Dossier du modèle</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="181" />
      <source>Give at least one training set folder (made by “Build training set”).</source>
      <translation>Indiquez au moins un dossier de jeu d’entraînement (créé par « Créer un jeu d’entraînement »).</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="197" />
      <source>Choose a folder for the new model.</source>
      <translation>Choisissez un dossier pour le nouveau modèle.</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="201" />
      <source>Choose a folder for the new model: a temporary folder is deleted when QGIS closes.</source>
      <translation>Choisissez un dossier pour le nouveau modèle : un dossier temporaire est supprimé à la fermeture de QGIS.</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="121" />
      <source>Fine-tuning {} on {} for {} steps: loading the model…</source>
      <translation>Affinage de {} sur {} pendant {} étapes : chargement du modèle…</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="126" />
      <source>Fine-tuning {} on {} for at most {:g} minutes: loading the model and timing a step…</source>
      <translation>Affinage de {} sur {} pendant au plus {:g} minutes : chargement du modèle et chronométrage d’une étape…</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="205" />
      <source>{} already exists and is not an empty folder: choose a new folder for the model.</source>
      <translation>{} existe déjà et n’est pas un dossier vide : choisissez un nouveau dossier pour le modèle.</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="115" />
      <source>The base model folder {} holds no model (no config.json).</source>
      <translation>Le dossier du modèle de base {} ne contient aucun modèle (pas de config.json).</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="151" />
      <source>Fine-tuning failed: {}</source>
      <translation>L’affinage a échoué : {}</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="166" />
      <source>{} is now listed with your models.</source>
      <translation>{} figure désormais parmi vos modèles.</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="184" />
      <source>The training set folder {} does not exist.</source>
      <translation>Le dossier de jeu d’entraînement {} n’existe pas.</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="187" />
      <source>{} is not a training set folder (no dataset.json): make one with “Build training set”.</source>
      <translation>{} n’est pas un dossier de jeu d’entraînement (pas de dataset.json) : créez-en un avec « Créer un jeu d’entraînement ».</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="242" />
      <source>Step {} of {}: loss {:.4f}</source>
      <translation>Étape {} sur {} : perte {:.4f}</translation>
    </message>
    <message>
      <location filename="../plugin/processing/finetune.py" line="148" />
      <source>Fine-tuning cancelled: no model was written, and the base model {} is unchanged.</source>
      <translation>Affinage annulé : aucun modèle n’a été écrit et le modèle de base {} est inchangé.</translation>
    </message>
    <message>
      <location filename="../plugin/processing/provider.py" line="24" />
      <source>GeoGround pixel-grounded raster assistant</source>
      <translation>GeoGround, assistant raster ancré au pixel</translation>
    </message>
    <message>
      <location filename="../plugin/raster_view.py" line="81" />
      <source>The raster layer is not valid (missing or unreadable file?).</source>
      <translation>La couche raster n’est pas valide (fichier manquant ou illisible ?).</translation>
    </message>
    <message>
      <location filename="../plugin/raster_view.py" line="84" />
      <source>QGIS cannot read this layer's pixels in the background.</source>
      <translation>QGIS ne peut pas lire les pixels de cette couche en arrière-plan.</translation>
    </message>
    <message>
      <location filename="../plugin/raster_view.py" line="132" />
      <source>The layer has no CRS: results are placed in the layer's own coordinates.</source>
      <translation>La couche n’a pas de SCR : les résultats sont placés dans les coordonnées propres de la couche.</translation>
    </message>
    <message>
      <location filename="../plugin/raster_view.py" line="113" />
      <source>The view is large; it was read at 1/{:.1f} of the layer's resolution. Zoom in for full detail.</source>
      <translation>La vue est grande ; elle a été lue à 1/{:.1f} de la résolution de la couche. Zoomez pour tout le détail.</translation>
    </message>
    <message>
      <location filename="../plugin/raster_view.py" line="121" />
      <source>Band {} has a data type GeoGround cannot read.</source>
      <translation>La bande {} a un type de données que GeoGround ne sait pas lire.</translation>
    </message>
    <message>
      <location filename="../plugin/raster_view.py" line="124" />
      <source>QGIS could not read band {} of the layer.</source>
      <translation>QGIS n’a pas pu lire la bande {} de la couche.</translation>
    </message>
    <message>
      <location filename="../plugin/result_layers.py" line="135" />
      <source>{} already has a layer named {}; it is not replaced.</source>
      <translation>{} a déjà une couche nommée {} ; elle n’est pas remplacée.</translation>
    </message>
    <message>
      <location filename="../plugin/result_layers.py" line="148" />
      <source>Cannot write {}: {}</source>
      <translation>Impossible d’écrire {} : {}</translation>
    </message>
    <message>
      <location filename="../plugin/result_layers.py" line="198" />
      <source>The result layer {} could not be reopened from {}.</source>
      <translation>La couche de résultats {} n’a pas pu être rouverte depuis {}.</translation>
    </message>
    <message>
      <location filename="../plugin/result_layers.py" line="92" />
      <source>{} is not a GeoPackage: {}</source>
      <translation>{} n’est pas un GeoPackage : {}</translation>
    </message>
    <message>
      <location filename="../plugin/result_layers.py" line="153" />
      <source>Cannot write a feature to {}: {}</source>
      <translation>Impossible d’écrire une entité dans {} : {}</translation>
    </message>
    <message>
      <location filename="../plugin/result_layers.py" line="187" />
      <source>Cannot create the folder for {}: {}</source>
      <translation>Impossible de créer le dossier de {} : {}</translation>
    </message>
    <message>
      <location filename="../plugin/result_layers.py" line="251" />
      <source>Cannot export layer {}: {}</source>
      <translation>Impossible d’exporter la couche {} : {}</translation>
    </message>
    <message>
      <location filename="../plugin/scopes.py" line="45" />
      <source>No polygon is selected: select polygons of a polygon layer first.</source>
      <translation>Aucun polygone n’est sélectionné : sélectionnez d’abord des polygones d’une couche de polygones.</translation>
    </message>
    <message>
      <location filename="../plugin/scopes.py" line="42" />
      <source>Several polygon layers have a selection: make the one to use the active layer.</source>
      <translation>Plusieurs couches de polygones ont une sélection : rendez active celle à utiliser.</translation>
    </message>
    <message>
      <location filename="../plugin/scopes.py" line="44" />
      <source>Select one or more polygons of “{}” first.</source>
      <translation>Sélectionnez d’abord un ou plusieurs polygones de « {} ».</translation>
    </message>
    <message>
      <location filename="../plugin/scopes.py" line="53" />
      <source>The selected features of “{}” have no polygon area.</source>
      <translation>Les entités sélectionnées de « {} » n’ont pas de surface polygonale.</translation>
    </message>
    <message>
      <location filename="../plugin/scopes.py" line="58" />
      <source>The selected polygons do not overlap the raster layer “{}”.</source>
      <translation>Les polygones sélectionnés ne recouvrent pas la couche raster « {} ».</translation>
    </message>
    <message>
      <location filename="../plugin/segmentation.py" line="97" />
      <source>Waiting for the previous GeoGround job to finish…</source>
      <translation>Attente de la fin de la tâche GeoGround précédente…</translation>
    </message>
    <message>
      <location filename="../plugin/segmentation.py" line="100" />
      <source>Tile {} of {} done.</source>
      <translation>Tuile {} sur {} terminée.</translation>
    </message>
    <message>
      <location filename="../plugin/segmentation.py" line="91" />
      <source>Loading the model {} (the first instruction after QGIS starts takes longer)…</source>
      <translation>Chargement du modèle {} (la première instruction après le démarrage de QGIS prend plus de temps)…</translation>
    </message>
    <message>
      <location filename="../plugin/segmentation.py" line="95" />
      <source>Model loaded in {:.1f} s.</source>
      <translation>Modèle chargé en {:.1f} s.</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="157" />
      <source>Model cache folder</source>
      <translation>Dossier de cache des modèles</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="163" />
      <source>Model's input size</source>
      <translation>Taille d’entrée du modèle</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="167" />
      <source>Default model (name, folder or hub id)</source>
      <translation>Modèle par défaut (nom, dossier ou identifiant du hub)</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="169" />
      <source>Precision</source>
      <translation>Précision</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="170" />
      <source>Tile size (pixels)</source>
      <translation>Taille des tuiles (pixels)</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="171" />
      <source>Tile overlap (pixels)</source>
      <translation>Recouvrement des tuiles (pixels)</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="174" />
      <source>Where models are downloaded and converted (several GB each). Empty: the geoground/models folder of the QGIS profile.</source>
      <translation>Où les modèles sont téléchargés et convertis (plusieurs Go chacun). Vide : le dossier geoground/models du profil QGIS.</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="178" />
      <source>The model the chat dock starts with: demo, a published name, a local folder or a Hugging Face hub id.</source>
      <translation>Le modèle avec lequel démarre le panneau de discussion : demo, un nom publié, un dossier local ou un identifiant du hub Hugging Face.</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="181" />
      <source>Where the model runs: auto uses the GPU (CUDA) when there is one, otherwise the CPU.</source>
      <translation>Où le modèle s’exécute : auto utilise le GPU (CUDA) s’il y en a un, sinon le CPU.</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="182" />
      <source>Number format of the model's weights: auto picks bfloat16 or float16 on a GPU and float32 on the CPU; lower precision needs less memory.</source>
      <translation>Format numérique des poids du modèle : auto choisit bfloat16 ou float16 sur un GPU et float32 sur le CPU ; une précision plus faible demande moins de mémoire.</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="186" />
      <source>Areas larger than this are answered in overlapping tiles of this size. “Model's input size” lets each model use its own.</source>
      <translation>Les zones plus grandes sont traitées en tuiles de cette taille qui se chevauchent. « Taille d’entrée du modèle » laisse chaque modèle utiliser la sienne.</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="190" />
      <source>How much neighbouring tiles overlap, so objects on a tile edge are seen whole (at most half a tile; with the model's input size, 1/8 of the tile is used).</source>
      <translation>Chevauchement des tuiles voisines, pour qu’un objet au bord d’une tuile soit vu en entier (au plus une demi-tuile ; avec la taille d’entrée du modèle, 1/8 de la tuile est utilisé).</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="194" />
      <source>The longest answer the model may write, in tokens (about ¾ of a word each).</source>
      <translation>La plus longue réponse que le modèle peut écrire, en jetons (environ ¾ de mot chacun).</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="87" />
      <source>{} is not a model folder (it has no config.json).</source>
      <translation>{} n’est pas un dossier de modèle (il ne contient pas de config.json).</translation>
    </message>
    <message>
      <location filename="../plugin/tasks.py" line="117" />
      <source>Unexpected error: {} (details in the GeoGround log panel)</source>
      <translation>Erreur inattendue : {} (détails dans le panneau de journal GeoGround)</translation>
    </message>
    <message>
      <location filename="../plugin/tasks.py" line="95" />
      <source>The task failed.</source>
      <translation>La tâche a échoué.</translation>
    </message>
    <message>
      <location filename="../plugin/tasks.py" line="106" />
      <source>Not enough memory for this view: zoom in, lower the tile size, or use the CPU. ({})</source>
      <translation>Mémoire insuffisante pour cette vue : zoomez, réduisez la taille des tuiles ou utilisez le CPU. ({})</translation>
    </message>
    <message>
      <location filename="../plugin/tasks.py" line="110" />
      <source>The engine cannot answer this: {}</source>
      <translation>Le moteur ne peut pas répondre à ceci : {}</translation>
    </message>
    <message>
      <location filename="../plugin/tasks.py" line="112" />
      <source>The model failed: {} (details in the GeoGround log panel)</source>
      <translation>Le modèle a échoué : {} (détails dans le panneau de journal GeoGround)</translation>
    </message>
    <message>
      <location filename="../plugin/tasks.py" line="114" />
      <source>The engine process stopped: {} (details in the GeoGround log panel)</source>
      <translation>Le processus du moteur s’est arrêté : {} (détails dans le panneau de journal GeoGround)</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="60" />
      <source>Current view</source>
      <translation>Vue actuelle</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="61" />
      <source>Whole layer</source>
      <translation>Couche entière</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="62" />
      <source>Selected polygon</source>
      <translation>Polygone sélectionné</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="63" />
      <source>Drawn rectangle</source>
      <translation>Rectangle dessiné</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="64" />
      <source>The part of the raster the instruction is about</source>
      <translation>La partie du raster concernée par l’instruction</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="67" />
      <source>Draw</source>
      <translation>Dessiner</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="68" />
      <source>Draw a rectangle on the map (area “Drawn rectangle”)</source>
      <translation>Dessiner un rectangle sur la carte (zone « Rectangle dessiné »)</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="72" />
      <source>Model: a name, a local folder or a Hugging Face hub id</source>
      <translation>Modèle : un nom, un dossier local ou un identifiant du hub Hugging Face</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="77" />
      <source>Where the model runs</source>
      <translation>Où le modèle s’exécute</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="80" />
      <source>Export…</source>
      <translation>Exporter…</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="81" />
      <source>Export result layers and the conversation to a GeoPackage</source>
      <translation>Exporter les couches de résultats et la conversation vers un GeoPackage</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="101" />
      <source>Pick examples</source>
      <translation>Choisir des exemples</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="104" />
      <source>Click objects on the map: each click is an example (Esc or another map tool ends picking)</source>
      <translation>Cliquez sur des objets de la carte : chaque clic est un exemple (Échap ou un autre outil cartographique met fin au choix)</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="109" />
      <source>Active layer</source>
      <translation>Couche active</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="111" />
      <source>The polygon or point layer whose selected features are examples</source>
      <translation>La couche de polygones ou de points dont les entités sélectionnées sont des exemples</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="112" />
      <source>Use selected features</source>
      <translation>Utiliser les entités sélectionnées</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="114" />
      <source>The selected polygons or points of that layer become examples</source>
      <translation>Les polygones ou points sélectionnés de cette couche deviennent des exemples</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="118" />
      <source>Clear examples</source>
      <translation>Effacer les exemples</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="132" />
      <source>Find every object like the examples in the chosen area; text typed below (e.g. “storage tank”) names them</source>
      <translation>Trouver chaque objet semblable aux exemples dans la zone choisie ; le texte saisi ci-dessous (p. ex. « réservoir de stockage ») les nomme</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="150" />
      <source>e.g. Segment all storage tanks</source>
      <translation>p. ex. Segment all storage tanks</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="152" />
      <source>Send</source>
      <translation>Envoyer</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="154" />
      <source>Stop</source>
      <translation>Arrêter</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="313" />
      <source>You:</source>
      <translation>Vous :</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="313" />
      <source>GeoGround:</source>
      <translation>GeoGround :</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="172" />
      <source>Type an instruction first, for example “Segment all buildings”.</source>
      <translation>Saisissez d’abord une instruction, par exemple « Segment all buildings ».</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="175" />
      <source>Add or select a raster layer first.</source>
      <translation>Ajoutez ou sélectionnez d’abord une couche raster.</translation>
    </message>
    <message>
      <location filename="../plugin/ui/download_dialog.py" line="17" />
      <source>Cancel</source>
      <translation>Annuler</translation>
    </message>
    <message>
      <location filename="../plugin/ui/example_picker.py" line="69" />
      <source>No examples yet</source>
      <translation>Aucun exemple pour l’instant</translation>
    </message>
    <message>
      <location filename="../plugin/ui/example_picker.py" line="71" />
      <source>1 example</source>
      <translation>1 exemple</translation>
    </message>
    <message>
      <location filename="../plugin/ui/example_picker.py" line="72" />
      <source>{} examples</source>
      <translation>{} exemples</translation>
    </message>
    <message>
      <location filename="../plugin/ui/example_picker.py" line="226" />
      <source>Choose a polygon or point layer (or make one the active layer) whose selected features are the examples.</source>
      <translation>Choisissez une couche de polygones ou de points (ou rendez-en une active) dont les entités sélectionnées sont les exemples.</translation>
    </message>
    <message>
      <location filename="../plugin/ui/example_picker.py" line="208" />
      <source>That point is outside the raster layer “{}”: click on an object of the raster.</source>
      <translation>Ce point est hors de la couche raster « {} » : cliquez sur un objet du raster.</translation>
    </message>
    <message>
      <location filename="../plugin/ui/example_picker.py" line="232" />
      <source>“{}” is not a polygon or point layer: examples are polygons or points.</source>
      <translation>« {} » n’est pas une couche de polygones ou de points : les exemples sont des polygones ou des points.</translation>
    </message>
    <message>
      <location filename="../plugin/ui/example_picker.py" line="238" />
      <source>Select one or more features of “{}” first: they become the examples.</source>
      <translation>Sélectionnez d’abord une ou plusieurs entités de « {} » : elles deviennent les exemples.</translation>
    </message>
    <message>
      <location filename="../plugin/ui/example_picker.py" line="259" />
      <source>The selected features of “{}” do not overlap the raster layer “{}”.</source>
      <translation>Les entités sélectionnées de « {} » ne recouvrent pas la couche raster « {} ».</translation>
    </message>
    <message>
      <location filename="../plugin/ui/example_picker.py" line="190" />
      <source>The example could not be added: {}</source>
      <translation>L’exemple n’a pas pu être ajouté : {}</translation>
    </message>
    <message>
      <location filename="../plugin/ui/example_picker.py" line="205" />
      <source>That point has no place in the raster layer's CRS: {}</source>
      <translation>Ce point n’a pas de position dans le SCR de la couche raster : {}</translation>
    </message>
  </context>
</TS>
