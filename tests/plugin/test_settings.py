"""Settings survive a save/load round trip through QgsSettings and the options page edits them."""

from __future__ import annotations

import pytest
from qgis.core import QgsSettings


@pytest.fixture(autouse=True)
def clean_settings():
    QgsSettings().remove("GeoGround")
    yield
    QgsSettings().remove("GeoGround")


def test_defaults_then_round_trip(qgis_app):
    from geoground.plugin.settings import Settings

    defaults = Settings.load()
    assert defaults.default_model == "demo" and defaults.device == "auto" and defaults.tile_size == 0
    assert defaults.model_cache_dir.endswith("models")
    changed = Settings(model_cache_dir="/data/models", default_model="/my/model", device="cpu", tile_size=512)
    changed.save()
    assert Settings.load() == changed


def test_bad_stored_values_fall_back_to_defaults(qgis_app):
    from geoground.plugin.settings import Settings

    QgsSettings().setValue("GeoGround/tile_size", "not a number")
    assert Settings.load().tile_size == 0  # the model's own input size


def test_options_page_applies_what_the_user_set(qgis_app):
    from geoground.plugin.settings import Settings, SettingsPage

    page = SettingsPage()
    assert page.tile_size.value() == 0 and page.tile_size.text() == page.tile_size.specialValueText() != ""
    page.device.setCurrentText("cpu")
    page.tile_size.setValue(768)
    page.tile_overlap.setValue(2000)  # more than half a tile: clamped
    page.model.setCurrentText("org/some-model")
    page.apply()
    saved = Settings.load()
    assert (saved.device, saved.tile_size, saved.tile_overlap, saved.default_model) == (
        "cpu",
        768,
        384,
        "org/some-model",
    )


def test_options_page_picks_the_cache_folder_and_explains_every_setting(qgis_app, tmp_path):
    from qgis.gui import QgsFileWidget

    from geoground.plugin.settings import Settings, SettingsPage

    page = SettingsPage()
    assert isinstance(page.cache_dir, QgsFileWidget) and page.cache_dir.storageMode() == QgsFileWidget.GetDirectory
    assert page.cache_dir.filePath() == Settings.load().model_cache_dir
    widgets = [page.cache_dir, page.model, page.device, page.precision, page.tile_size, page.tile_overlap]
    widgets.append(page.max_new_tokens)
    tips = [widget.toolTip() for widget in widgets]
    assert all(tips) and len(set(tips)) == len(tips)
    page.cache_dir.setFilePath(str(tmp_path / "models"))
    page.apply()
    assert Settings.load().model_cache_dir == str(tmp_path / "models")


def test_user_models_leave_out_folders_that_are_gone_or_hold_no_model(qgis_app, tmp_path):
    import shutil

    from geoground.plugin.settings import MODELS, add_user_model, remove_user_model, user_models

    first, second = tmp_path / "first", tmp_path / "second"
    for folder in (first, second):
        folder.mkdir()
        (folder / "config.json").write_text("{}")
    fired = []

    def changed():
        fired.append(1)

    MODELS.changed.connect(changed)
    try:
        add_user_model(first)
        add_user_model(str(second) + "/")  # the same folder however it is written: listed once
        add_user_model(second)
        assert user_models() == [str(first), str(second)] and len(fired) == 3
        shutil.rmtree(first)
        (second / "config.json").unlink()
        assert user_models() == []
        (second / "config.json").write_text("{}")
        assert user_models() == [str(second)]  # kept while gone: a removable drive may come back
        with pytest.raises(ValueError, match="no config.json"):
            add_user_model(tmp_path)
        remove_user_model(second)
        assert user_models() == [] and len(fired) == 4
    finally:
        MODELS.changed.disconnect(changed)


def test_the_users_models_are_kept_in_qgis_settings_and_offered_on_the_options_page(qgis_app, tmp_path):
    from geoground.plugin.settings import MODEL_CHOICES, SettingsPage, add_user_model, model_choices, user_models

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "config.json").write_text("{}")
    add_user_model(mine)
    QgsSettings().sync()
    stored = QgsSettings().value("GeoGround/user_models")
    assert ([stored] if isinstance(stored, str) else list(stored)) == [str(mine)]  # read back as QGIS reads it
    assert user_models() == [str(mine)] and model_choices() == [*MODEL_CHOICES, str(mine)]
    page = SettingsPage()
    assert [page.model.itemText(i) for i in range(page.model.count())] == [*MODEL_CHOICES, str(mine)]
