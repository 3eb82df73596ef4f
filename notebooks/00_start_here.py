# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/recsys-course/recsys-design-course/blob/main/notebooks/00_start_here.ipynb)
#
# # Start here
#
# Welcome to **Recommender System Design, step by step**. Click a step to open its notebook,
# then run it from the top (menu *Run > Run All Cells*, or Shift+Enter cell by cell). Each
# step has an exercise notebook (its solutions are in `solutions/`).
#
# 1. [Step 1: Requirements — what exactly are we building?](01_requirements.ipynb) · [exercises](../exercises/01_requirements.ipynb)
# 2. [Step 2 · Problem framing: from a business goal to an ML task](02_problem_framing.ipynb) · [exercises](../exercises/02_problem_framing.ipynb)
# 3. [Step 3 · Data preparation: sources, validation, EDA, features and splits](03_data_preparation.ipynb) · [exercises](../exercises/03_data_preparation.ipynb)
# 4. [Step 4 · Model development: retrieval, cold start and the ranking stage](04_model_development.ipynb) · [exercises](../exercises/04_model_development.ipynb)
# 5. [Step 5 · Evaluation: offline and online](05_evaluation.ipynb) · [exercises](../exercises/05_evaluation.ipynb)
# 6. [Step 6 · Deployment and serving](06_deployment.ipynb) · [exercises](../exercises/06_deployment.ipynb)
# 7. [Step 7 · Monitoring and maintenance](07_monitoring.ipynb) · [exercises](../exercises/07_monitoring.ipynb)
#
# Optional, after step 7: [Appendix A1 · Scaling out on Apache Spark](A1_scaling_out.ipynb) · [exercises](../exercises/A1_scaling_out.ipynb) (needs `pip install -r requirements-spark.txt`)
#
# **Which file to open.** Open the `.ipynb` notebooks (the notebook icon in the file browser).
# Each has a `.py` twin next to it, a plain-text copy for reviewing changes; if you open one
# with *Open With > Jupytext Notebook* it shows the same notebook, paired with the `.ipynb`.
#
# **Coming back later.** From the course folder, `.venv/bin/jupyter lab notebooks/00_start_here.ipynb`
# reopens this page (no new install needed). Your edits are saved in the notebooks; `git
# checkout -- notebooks/` restores the originals.
#
# The cell below checks your setup: both lines should say `True`.

# %%
# Colab setup: on Google Colab, pip-installs course_utils from GitHub (MovieLens downloads later, on first use); elsewhere it does nothing.
import sys

if "google.colab" in sys.modules:
    import subprocess

    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "course_utils @ git+https://github.com/recsys-course/recsys-design-course",
        ],
        check=True,
    )

# %%
import sys

print("Python 3.11 or newer:", sys.version_info >= (3, 11))
import course_utils

print("course_utils installed:", course_utils.__name__ == "course_utils")
