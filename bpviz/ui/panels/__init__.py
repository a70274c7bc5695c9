"""The panels beside the diagram: inspector, error surface, cost curve, decision boundary, graph,
code and lessons."""
