"""Relationship intelligence: graph projections and the algorithms that run on them.

- :mod:`~rapport.algorithms.projection_spec`: which part of the graph to project;
- :mod:`~rapport.algorithms.projection`: stream it out of either backend into id-mapped arrays;
- :mod:`~rapport.algorithms.convert`: those arrays as a scipy CSR matrix, a networkx graph
  or a PyTorch Geometric ``HeteroData``;
- :mod:`~rapport.algorithms.nodes`: record id <-> dense index maps, and per-node results;
- :mod:`~rapport.algorithms.influence`: PageRank, personalized PageRank, degree and
  betweenness centrality (key stakeholders of an account);
- :mod:`~rapport.algorithms.communities`: Louvain communities;
  :mod:`~rapport.algorithms.segments` writes them back as Segments with stable ids;
- :mod:`~rapport.algorithms.gds`: the same PageRank and Louvain inside Neo4j (Graph Data Science).
- :mod:`~rapport.algorithms.strength`: relationship strength (0-100) of every interacting pair of
  people, stored on ``CONNECTED_TO``; :mod:`~rapport.algorithms.schedule` recomputes it in the server;
- :mod:`~rapport.algorithms.duplicates`: likely duplicate customers and accounts, for review.
"""
