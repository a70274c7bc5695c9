"""The main window and what it owns: the run model, controls, timeline, help, lecture-hall mode,
paint scheduling and the view a session keeps."""
