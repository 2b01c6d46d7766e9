"""Space-surveillance sensors, visibility, tasking and orbit determination (the node's own eyes)."""
