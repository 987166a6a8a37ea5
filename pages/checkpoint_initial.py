from pages._ui import checkpoint_page

checkpoint_page("Initial")
