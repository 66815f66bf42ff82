"""DAE Lab's library: denoising autoencoders and transfer learning on MNIST and Fashion-MNIST.

Read it from the bottom up; each package may import only from itself and those below it
(tests/unit/test_layers.py checks this):

    settings, errors, tasks   where files live, the errors a user can fix, the tasks as data
    data        datasets and noise
    store       the run folder
    images      uploads, drawings, photos -> 28 x 28
    models      architectures, builders, inference, the catalog of models
    analysis    metrics, statistics, reports, latent space, classical denoisers, figures
    training    configs and presets, the loop, callbacks, jobs
    studies     designs, the study folder, local and Ray executors, evidence
    cli         the command line

Never imports streamlit; TensorFlow only where a model is built or run, so configs, runs, data
and images stay fast to import. docs/architecture.md has the picture and the recipes.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ info lines out (what it logs
# before this applies, and its needless "errors", the command line hides: cli/console.py)

__version__ = "0.1.0"
