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
- :mod:`~rapport.algorithms.duplicates`: likely duplicate customers and accounts, for review;
- :mod:`~rapport.algorithms.embeddings`: GraphSAGE embeddings of customers and accounts
  (:mod:`~rapport.algorithms.gnn_features`, :mod:`~rapport.algorithms.gnn_model`,
  :mod:`~rapport.algorithms.gnn_training`), stored and indexed by
  :mod:`~rapport.algorithms.embedding_store`;
- :mod:`~rapport.algorithms.similarity`: lookalike customers and accounts through the vector index;
- :mod:`~rapport.algorithms.influencers`: every customer's influence (PageRank), written back;
- :mod:`~rapport.algorithms.introductions`: warm introductions, the warmest chains of people to a customer.
"""
