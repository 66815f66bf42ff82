"""The run store: one folder per training run, written by one process and followed by others
(``runs``: its files, its states, atomic replaces and flushed lines). Pages, jobs, studies and the
command line ask it for paths and records rather than naming the files themselves.

Imports only ``settings``, ``errors``, ``tasks``; no TensorFlow.
"""
