"""Explainable scores: churn risk and health, deal win probability, lead conversion.

Features are extracted from the graph as of a cutoff time (nothing dated at or
after it is read) by feature sources, each a named column group that is either
*tabular* (what a flat CRM report holds) or *graph* (what only relationships
reveal); more groups (centrality, communities, embeddings) append as extra
sources. Gradient-boosted models (LightGBM) are calibrated on a later time
slice than they are trained on, and every score carries a confidence and its
top reasons in plain words.

- :mod:`rapport.scoring.frame`: examples, column groups, the feature frame
- :mod:`rapport.scoring.targets`: the three targets and their feature sources
- :mod:`rapport.scoring.labels`: labels from the demo's truth or from history, and the time split
- :mod:`rapport.scoring.train`: ``rapport train``; :mod:`rapport.scoring.score`: ``rapport score``
"""
