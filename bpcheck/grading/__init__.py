"""Grading a class: rubrics, the sandbox that runs each submission, the class report and the
Gradescope bundle (the only layer that writes an output folder)."""
