"""The dashboard's pages, in menu order: the one list the navigation, the Overview's cards and
the UI benchmark read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PageInfo:
    path: str  # the page's file, relative to the project
    title: str  # its name in the menu
    icon: str
    blurb: str  # what it is for, on the Overview's card

    @property
    def url_path(self) -> str:
        """The path st.navigation serves it under ("" for the default page)."""
        return "" if self is PAGES[0] else Path(self.path).stem


PAGES = (
    PageInfo("pages/overview.py", "Overview", ":material/home:", "What is loaded, and a card per model."),
    PageInfo("pages/train.py", "Train", ":material/model_training:",
             "Train any task as a background run and watch its curves live."),
    PageInfo("pages/runs.py", "Runs", ":material/table_rows:",
             "Every run with its settings and result: filter, tag, archive, delete, overlay, compare."),
    PageInfo("pages/denoise.py", "Denoise", ":material/auto_fix_high:",
             "Add noise to digits (or draw one) and see the autoencoder clean it."),
    PageInfo("pages/latent.py", "Latent space", ":material/scatter_plot:",
             "What the encoder learned without labels: its codes mapped, interpolated, probed."),
    PageInfo("pages/compare.py", "Compare", ":material/compare_arrows:",
             "Task 2 against Task 3, beside the assignment's reported figures."),
    PageInfo("pages/garment.py", "Garment", ":material/checkroom:",
             "Upload or pick a garment picture and see what the classifiers say."),
    PageInfo("pages/studies.py", "Studies", ":material/science:",
             "Many runs over seeds: charts with 95% bands, and what the data show."),
)
