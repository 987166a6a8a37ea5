from pages._ui import stage_page

stage_page("Reliable")
