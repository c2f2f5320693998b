"""The graph store: one interface over Neo4j and the embedded FalkorDB.

Everything above this package depends on :mod:`rapport.graph.types` and
:mod:`rapport.graph.errors` only, never on a concrete backend.
"""
