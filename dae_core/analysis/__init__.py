"""What the lab measures: metrics (classifier reports, PSNR, SSIM), statistics over seeds and
McNemar's test, the Task 4 report beside the assignment's figures (from a classifier's test
predictions, kept on disk by ``predictions``), the latent space, the classical
denoisers, the robustness study's evaluation, and the plotly figures of all of them.

May import ``data``, ``images``, ``models``, ``store`` and the top-level modules; never ``training``.
"""
