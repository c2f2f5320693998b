"""GraphQL execution over the graph: each root field's selection becomes one Cypher query."""
