from pages._ui import stage_page

stage_page("Reliable", practices={"drift": "reliable-drift", "gates": "reliable-gates",
                                  "monitoring": "reliable-monitoring",
                                  "rollouts": "reliable-rollouts"})
