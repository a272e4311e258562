<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="fr">
  <context>
    <name>GeoGround</name>
    <message>
      <location filename="../plugin/controller.py" line="120" />
      <source>Still working on the previous instruction; press Stop to cancel it.</source>
      <translation>Le traitement de l’instruction précédente est en cours ; appuyez sur Arrêter pour l’annuler.</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="127" />
      <source>Select a raster layer first.</source>
      <translation>Sélectionnez d’abord une couche raster.</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="185" />
      <source>Stopped. The files downloaded so far are kept; the next instruction with this model goes on from them (a conversion that was under way starts again).</source>
      <translation>Arrêté. Les fichiers déjà téléchargés sont conservés ; la prochaine instruction avec ce modèle reprend à partir d’eux (une conversion en cours recommence).</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="255" />
      <source>That result layer is no longer in the project.</source>
      <translation>Cette couche de résultats n’est plus dans le projet.</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="268" />
      <source>Export GeoGround results</source>
      <translation>Exporter les résultats GeoGround</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="268" />
      <source>GeoPackage (*.gpkg)</source>
      <translation>GeoPackage (*.gpkg)</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="162" />
      <source>Draw a rectangle on the map first (press and drag), then Send again.</source>
      <translation>Dessinez d’abord un rectangle sur la carte (cliquer-glisser), puis cliquez à nouveau sur Envoyer.</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="196" />
      <source>GeoGround: {}</source>
      <translation>GeoGround : {}</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="247" />
      <source>{} object(s) in layer “{}” ({}).</source>
      <translation>{} objet(s) dans la couche « {} » ({}).</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="278" />
      <source>Exported to {}.</source>
      <translation>Exporté vers {}.</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="304" />
      <source>Results moved beside the project: {}.</source>
      <translation>Résultats déplacés à côté du projet : {}.</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="108" />
      <source>Rectangle kept: Send to ask about it.</source>
      <translation>Rectangle retenu : cliquez sur Envoyer pour l’interroger.</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="110" />
      <source>The rectangle has no area: press and drag on the map.</source>
      <translation>Le rectangle n’a pas de surface : cliquez et faites glisser sur la carte.</translation>
    </message>
    <message>
      <location filename="../plugin/controller.py" line="124" />
      <source>Cannot run: missing Python packages {}.</source>
      <translation>Exécution impossible : paquets Python manquants {}.</translation>
    </message>
    <message>
      <location filename="../plugin/export.py" line="35" />
      <source>There are no result layers to export.</source>
      <translation>Il n’y a aucune couche de résultats à exporter.</translation>
    </message>
    <message>
      <location filename="../plugin/export.py" line="49" />
      <source>Cannot export layer {}: {}</source>
      <translation>Impossible d’exporter la couche {} : {}</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="64" />
      <source>Installing GeoGround dependencies</source>
      <translation>Installation des dépendances de GeoGround</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="37" />
      <source>pip failed (exit code {}): {}</source>
      <translation>pip a échoué (code de sortie {}) : {}</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="60" />
      <source>Installed, but still missing: {}.</source>
      <translation>Installé, mais il manque encore : {}.</translation>
    </message>
    <message>
      <location filename="../plugin/installer.py" line="62" />
      <source>Engine dependencies installed in {}.</source>
      <translation>Dépendances du moteur installées dans {}.</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="20" />
      <source>storage tanks</source>
      <translation>réservoirs de stockage</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="21" />
      <source>buildings</source>
      <translation>bâtiments</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="22" />
      <source>ships</source>
      <translation>navires</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="23" />
      <source>airplanes</source>
      <translation>avions</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="24" />
      <source>vehicles</source>
      <translation>véhicules</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="25" />
      <source>roads</source>
      <translation>routes</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="26" />
      <source>water bodies</source>
      <translation>plans d’eau</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="66" />
      <source>GeoGround</source>
      <translation>GeoGround</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="68" />
      <source>GeoGround chat</source>
      <translation>Discussion GeoGround</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="76" />
      <source>Install engine dependencies…</source>
      <translation>Installer les dépendances du moteur…</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="108" />
      <source>Install engine dependencies</source>
      <translation>Installer les dépendances du moteur</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="114" />
      <source>Install from the internet</source>
      <translation>Installer depuis Internet</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="115" />
      <source>Install from a folder of wheels…</source>
      <translation>Installer depuis un dossier de wheels…</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="135" />
      <source>Segment all…</source>
      <translation>Segmenter tous les…</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="142" />
      <source>Custom instruction…</source>
      <translation>Instruction personnalisée…</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="154" />
      <source>Instruction for this layer:</source>
      <translation>Instruction pour cette couche :</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="104" />
      <source>All engine dependencies are installed.</source>
      <translation>Toutes les dépendances du moteur sont installées.</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="120" />
      <source>Folder of wheels</source>
      <translation>Dossier de wheels</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="89" />
      <source>Use Raster → GeoGround → Install engine dependencies…</source>
      <translation>Utilisez Raster → GeoGround → Installer les dépendances du moteur…</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="110" />
      <source>Install {} into {}? QGIS's own Python packages are not changed.</source>
      <translation>Installer {} dans {} ? Les paquets Python de QGIS ne sont pas modifiés.</translation>
    </message>
    <message>
      <location filename="../plugin/main.py" line="87" />
      <source>The engine needs Python packages that are not installed: {}.</source>
      <translation>Le moteur a besoin de paquets Python qui ne sont pas installés : {}.</translation>
    </message>
    <message>
      <location filename="../plugin/model_download.py" line="103" />
      <source>The model {} is not in the model cache and the Hugging Face hub cannot be reached. Download it once on a connected machine (it goes to the model cache folder of the GeoGround settings), or put a local model folder in the model picker.</source>
      <translation>Le modèle {} n’est pas dans le cache des modèles et le hub Hugging Face est injoignable. Téléchargez-le une fois sur une machine connectée (il est placé dans le dossier de cache des modèles des paramètres GeoGround), ou indiquez un dossier de modèle local dans le choix du modèle.</translation>
    </message>
    <message>
      <location filename="../plugin/model_download.py" line="196" />
      <source>Downloading the model {0} from the Hugging Face hub (about {1} GB; it is converted once after)…</source>
      <translation>Téléchargement du modèle {0} depuis le hub Hugging Face (environ {1} Go ; il est ensuite converti une seule fois)…</translation>
    </message>
    <message>
      <location filename="../plugin/model_download.py" line="191" />
      <source>Downloading the model {} from the Hugging Face hub…</source>
      <translation>Téléchargement du modèle {} depuis le hub Hugging Face…</translation>
    </message>
    <message>
      <location filename="../plugin/model_download.py" line="193" />
      <source>Converting {0} for GeoGround (once; about {1} GB in the model cache)…</source>
      <translation>Conversion de {0} pour GeoGround (une seule fois ; environ {1} Go dans le cache des modèles)…</translation>
    </message>
    <message>
      <location filename="../plugin/model_download.py" line="124" />
      <source>The model {0} is not prepared in the model cache and the Hugging Face hub cannot be reached. On a connected machine, send an instruction with it once: it downloads {1} (about {2} GB) and converts it (about {3} GB more) into the model cache folder of the GeoGround settings.</source>
      <translation>Le modèle {0} n’est pas préparé dans le cache des modèles et le hub Hugging Face est injoignable. Sur une machine connectée, envoyez une fois une instruction avec ce modèle : il télécharge {1} (environ {2} Go) et le convertit (environ {3} Go de plus) dans le dossier de cache des modèles des paramètres de GeoGround.</translation>
    </message>
    <message>
      <location filename="../plugin/model_download.py" line="243" />
      <source>GeoGround: preparing {}</source>
      <translation>GeoGround : préparation de {}</translation>
    </message>
    <message>
      <location filename="../plugin/model_download.py" line="251" />
      <source>GeoGround: downloading {}</source>
      <translation>GeoGround : téléchargement de {}</translation>
    </message>
    <message>
      <location filename="../plugin/model_download.py" line="176" />
      <source>The Hugging Face hub has no model {} (or it is private): check the name.</source>
      <translation>Le hub Hugging Face n’a pas de modèle {} (ou il est privé) : vérifiez le nom.</translation>
    </message>
    <message>
      <location filename="../plugin/model_download.py" line="179" />
      <source>The Hugging Face hub refused {}: {}</source>
      <translation>Le hub Hugging Face a refusé {} : {}</translation>
    </message>
    <message>
      <location filename="../plugin/model_download.py" line="182" />
      <source>The download of {} stopped: {}. Send again to continue it.</source>
      <translation>Le téléchargement de {} s’est arrêté : {}. Envoyez à nouveau pour le poursuivre.</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="48" />
      <source>Segment by instruction</source>
      <translation>Segmenter selon une instruction</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="51" />
      <source>Asks the GeoGround model about the raster (the whole layer, or the extent given) and returns one polygon per object it outlines, with the phrase that names it, a score, and its area in square metres. Example instruction: “Segment all storage tanks”.</source>
      <translation>Interroge le modèle GeoGround sur le raster (toute la couche ou l’emprise indiquée) et renvoie un polygone par objet détouré, avec l’expression qui le nomme, un score et sa surface en mètres carrés. Exemple d’instruction : « Segment all storage tanks ».</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="144" />
      <source>Describe with grounded masks</source>
      <translation>Décrire avec des masques ancrés</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="147" />
      <source>Asks the GeoGround model to describe the raster; the answer text is returned in ANSWER and every phrase it grounds becomes polygons in the output layer.</source>
      <translation>Demande au modèle GeoGround de décrire le raster ; le texte de la réponse est renvoyé dans ANSWER et chaque expression ancrée devient des polygones dans la couche de sortie.</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="59" />
      <source>Raster layer</source>
      <translation>Couche raster</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="61" />
      <source>Instruction</source>
      <translation>Instruction</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="63" />
      <source>Area (whole layer when empty)</source>
      <translation>Zone (toute la couche si vide)</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="65" />
      <source>Model (name, folder or hub id)</source>
      <translation>Modèle (nom, dossier ou identifiant du hub)</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="69" />
      <source>Device</source>
      <translation>Périphérique</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="74" />
      <source>Answer token limit</source>
      <translation>Nombre maximal de jetons de réponse</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="77" />
      <source>Objects</source>
      <translation>Objets</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="78" />
      <source>Answer</source>
      <translation>Réponse</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="83" />
      <source>No raster layer given.</source>
      <translation>Aucune couche raster fournie.</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithms.py" line="86" />
      <source>The instruction is empty.</source>
      <translation>L’instruction est vide.</translation>
    </message>
    <message>
      <location filename="../plugin/processing/provider.py" line="24" />
      <source>GeoGround pixel-grounded raster assistant</source>
      <translation>GeoGround, assistant raster ancré au pixel</translation>
    </message>
    <message>
      <location filename="../plugin/raster_view.py" line="79" />
      <source>The raster layer is not valid (missing or unreadable file?).</source>
      <translation>La couche raster n’est pas valide (fichier manquant ou illisible ?).</translation>
    </message>
    <message>
      <location filename="../plugin/raster_view.py" line="82" />
      <source>QGIS cannot read this layer's pixels in the background.</source>
      <translation>QGIS ne peut pas lire les pixels de cette couche en arrière-plan.</translation>
    </message>
    <message>
      <location filename="../plugin/raster_view.py" line="100" />
      <source>The requested area does not overlap the raster layer.</source>
      <translation>La zone demandée ne recouvre pas la couche raster.</translation>
    </message>
    <message>
      <location filename="../plugin/raster_view.py" line="129" />
      <source>The layer has no CRS: results are placed in the layer's own coordinates.</source>
      <translation>La couche n’a pas de SCR : les résultats sont placés dans les coordonnées propres de la couche.</translation>
    </message>
    <message>
      <location filename="../plugin/raster_view.py" line="110" />
      <source>The view is large; it was read at 1/{:.1f} of the layer's resolution. Zoom in for full detail.</source>
      <translation>La vue est grande ; elle a été lue à 1/{:.1f} de la résolution de la couche. Zoomez pour tout le détail.</translation>
    </message>
    <message>
      <location filename="../plugin/raster_view.py" line="118" />
      <source>Band {} has a data type GeoGround cannot read.</source>
      <translation>La bande {} a un type de données que GeoGround ne sait pas lire.</translation>
    </message>
    <message>
      <location filename="../plugin/raster_view.py" line="121" />
      <source>QGIS could not read band {} of the layer.</source>
      <translation>QGIS n’a pas pu lire la bande {} de la couche.</translation>
    </message>
    <message>
      <location filename="../plugin/result_layers.py" line="87" />
      <source>Cannot write {}: {}</source>
      <translation>Impossible d’écrire {} : {}</translation>
    </message>
    <message>
      <location filename="../plugin/result_layers.py" line="122" />
      <source>The result layer {} could not be reopened from {}.</source>
      <translation>La couche de résultats {} n’a pas pu être rouverte depuis {}.</translation>
    </message>
    <message>
      <location filename="../plugin/result_layers.py" line="92" />
      <source>Cannot write a feature to {}: {}</source>
      <translation>Impossible d’écrire une entité dans {} : {}</translation>
    </message>
    <message>
      <location filename="../plugin/result_layers.py" line="114" />
      <source>Cannot create the folder for {}: {}</source>
      <translation>Impossible de créer le dossier de {} : {}</translation>
    </message>
    <message>
      <location filename="../plugin/scopes.py" line="45" />
      <source>No polygon is selected: select polygons of a polygon layer first.</source>
      <translation>Aucun polygone n’est sélectionné : sélectionnez d’abord des polygones d’une couche de polygones.</translation>
    </message>
    <message>
      <location filename="../plugin/scopes.py" line="42" />
      <source>Several polygon layers have a selection: make the one to use the active layer.</source>
      <translation>Plusieurs couches de polygones ont une sélection : rendez active celle à utiliser.</translation>
    </message>
    <message>
      <location filename="../plugin/scopes.py" line="44" />
      <source>Select one or more polygons of “{}” first.</source>
      <translation>Sélectionnez d’abord un ou plusieurs polygones de « {} ».</translation>
    </message>
    <message>
      <location filename="../plugin/scopes.py" line="53" />
      <source>The selected features of “{}” have no polygon area.</source>
      <translation>Les entités sélectionnées de « {} » n’ont pas de surface polygonale.</translation>
    </message>
    <message>
      <location filename="../plugin/scopes.py" line="58" />
      <source>The selected polygons do not overlap the raster layer “{}”.</source>
      <translation>Les polygones sélectionnés ne recouvrent pas la couche raster « {} ».</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="69" />
      <source>Model's input size</source>
      <translation>Taille d’entrée du modèle</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="72" />
      <source>Model cache folder</source>
      <translation>Dossier de cache des modèles</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="73" />
      <source>Default model (name, folder or hub id)</source>
      <translation>Modèle par défaut (nom, dossier ou identifiant du hub)</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="75" />
      <source>Precision</source>
      <translation>Précision</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="76" />
      <source>Tile size (pixels)</source>
      <translation>Taille des tuiles (pixels)</translation>
    </message>
    <message>
      <location filename="../plugin/settings.py" line="77" />
      <source>Tile overlap (pixels)</source>
      <translation>Recouvrement des tuiles (pixels)</translation>
    </message>
    <message>
      <location filename="../plugin/tasks.py" line="56" />
      <source>Stopped.</source>
      <translation>Arrêté.</translation>
    </message>
    <message>
      <location filename="../plugin/tasks.py" line="83" />
      <source>Unexpected error: {} (details in the GeoGround log panel)</source>
      <translation>Erreur inattendue : {} (détails dans le panneau de journal GeoGround)</translation>
    </message>
    <message>
      <location filename="../plugin/tasks.py" line="69" />
      <source>The task failed.</source>
      <translation>La tâche a échoué.</translation>
    </message>
    <message>
      <location filename="../plugin/tasks.py" line="80" />
      <source>Not enough memory for this view: zoom in, lower the tile size, or use the CPU. ({})</source>
      <translation>Mémoire insuffisante pour cette vue : zoomez, réduisez la taille des tuiles ou utilisez le CPU. ({})</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="53" />
      <source>Current view</source>
      <translation>Vue actuelle</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="54" />
      <source>Whole layer</source>
      <translation>Couche entière</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="55" />
      <source>Selected polygon</source>
      <translation>Polygone sélectionné</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="56" />
      <source>Drawn rectangle</source>
      <translation>Rectangle dessiné</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="57" />
      <source>The part of the raster the instruction is about</source>
      <translation>La partie du raster concernée par l’instruction</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="60" />
      <source>Draw</source>
      <translation>Dessiner</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="61" />
      <source>Draw a rectangle on the map (area “Drawn rectangle”)</source>
      <translation>Dessiner un rectangle sur la carte (zone « Rectangle dessiné »)</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="65" />
      <source>Model: a name, a local folder or a Hugging Face hub id</source>
      <translation>Modèle : un nom, un dossier local ou un identifiant du hub Hugging Face</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="69" />
      <source>Where the model runs</source>
      <translation>Où le modèle s’exécute</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="72" />
      <source>Export…</source>
      <translation>Exporter…</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="73" />
      <source>Export result layers and the conversation to a GeoPackage</source>
      <translation>Exporter les couches de résultats et la conversation vers un GeoPackage</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="96" />
      <source>e.g. Segment all storage tanks</source>
      <translation>p. ex. Segment all storage tanks</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="98" />
      <source>Send</source>
      <translation>Envoyer</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="100" />
      <source>Stop</source>
      <translation>Arrêter</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="203" />
      <source>You</source>
      <translation>Vous</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="114" />
      <source>Type an instruction first, for example “Segment all buildings”.</source>
      <translation>Saisissez d’abord une instruction, par exemple « Segment all buildings ».</translation>
    </message>
    <message>
      <location filename="../plugin/ui/chat_dock.py" line="117" />
      <source>Add or select a raster layer first.</source>
      <translation>Ajoutez ou sélectionnez d’abord une couche raster.</translation>
    </message>
    <message>
      <location filename="../plugin/ui/download_dialog.py" line="17" />
      <source>Cancel</source>
      <translation>Annuler</translation>
    </message>
  </context>
</TS>
