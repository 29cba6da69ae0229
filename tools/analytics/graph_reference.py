"""NetworkX's answers for a follow graph, the reference of the analytics service's graph jobs.

Reads JSON on stdin: {"edges": [[follower, followee], ...], "alpha": 0.85, "tol": 1e-6, "max_iter": 100,
"partition": {"node": "community", ...} (optional)} and prints JSON: PageRank of every node (nx.pagerank on the
directed graph), communities by label propagation (nx.community.label_propagation_communities, the
semi-synchronous variant, on the undirected graph) with their modularity, and the modularity of the given
partition (the one under test) on the same undirected graph.
"""
import json
import sys

import networkx as nx

request = json.load(sys.stdin)
directed = nx.DiGraph()
directed.add_edges_from((str(a), str(b)) for a, b in request["edges"])
undirected = directed.to_undirected()

ranks = nx.pagerank(directed, alpha=request.get("alpha", 0.85), tol=request.get("tol", 1e-6), max_iter=request.get("max_iter", 100))
communities = [sorted(c) for c in nx.community.label_propagation_communities(undirected)]
out = {
    "networkx": nx.__version__,
    "pagerank": ranks,
    "communities": sorted(communities, key=lambda c: (-len(c), c)),
    "modularity": nx.community.modularity(undirected, communities),
}
partition = request.get("partition")
if partition:
    groups = {}
    for node, label in partition.items():
        groups.setdefault(label, set()).add(str(node))
    out["partition_modularity"] = nx.community.modularity(undirected, list(groups.values()))
json.dump(out, sys.stdout)
