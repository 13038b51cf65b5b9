"""Cross-dataset evaluation and robustness: the tables of every model and ensemble on every
test set and under every perturbation (:mod:`.tables`), the perturbed videos and conditions
of the robustness grid (:mod:`.robustness`), and the text the commands print
(:mod:`.summary`)."""
