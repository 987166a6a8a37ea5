from pages._ui import not_built

not_built("registry")
