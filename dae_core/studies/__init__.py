"""Studies: a named grid of ordinary runs that answers one question. The designs (``designs``),
the study folder (``store``), running members here (``runner``) or on a Ray cluster
(``ray_executor``), and the evidence read from the members' records (``evidence``).

May import ``training`` and everything below it.
"""
