"""Training a model as a recorded run: the config and its presets (``config``), the checks before
a run starts (``preflight``), the loop (``train``), its callbacks (``callbacks``), starting, stopping
and following runs in their own processes (``jobs``), and ETAs (``durations``).

May import every package below it (data, store, images, models, analysis).
"""
