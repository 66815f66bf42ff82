"""The command line, ``python -m dae_core`` (or ``dae-lab``): ``main`` has the sub-commands,
``study`` the ``study`` one. The top of the library: it may import every package."""
