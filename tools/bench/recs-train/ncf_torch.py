"""Usage: ncf_torch.py <ncf prefix> <gmf,mlp,neumf> <epochs> [batch 256] [max positives, 0 = all] [threads, 0 = torch's default].

PyTorch anchor of tools/bench/recs-train: GMF, MLP and NeuMF at the NCF paper's settings on the same
NCF-format split the TF.js side trains on, written the way a PyTorch user would (nn.Embedding, nn.Linear,
BCEWithLogitsLoss, Adam; a whole epoch of sampled triples as tensors, sliced per batch). Prints one JSON
line: samples/s per model, ms per step, HR@10/NDCG@10 after training, scoring latency for all items."""
import json
import sys
import time

import numpy as np
import torch
from torch import nn


def read_ncf(prefix):
    train = np.loadtxt(f"{prefix}.train.rating", dtype=np.int64, usecols=(0, 1), ndmin=2)
    tests, negs = [], []
    with open(f"{prefix}.test.negative") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if not parts[0]:
                continue
            u, i = parts[0].strip("()").split(",")
            tests.append((int(u), int(i)))
            negs.append([int(x) for x in parts[1:] if x])
    users = int(max(train[:, 0].max(), max(u for u, _ in tests))) + 1
    items = int(max(train[:, 1].max(), max(i for _, i in tests), max(max(n) for n in negs))) + 1
    return train, tests, negs, users, items


class NCF(nn.Module):
    def __init__(self, kind, users, items, factors=8, layers=(64, 32, 16, 8)):
        super().__init__()
        self.kind = kind
        if kind in ("gmf", "neumf"):
            self.ug = nn.Embedding(users, factors)
            self.ig = nn.Embedding(items, factors)
            nn.init.normal_(self.ug.weight, std=0.01)
            nn.init.normal_(self.ig.weight, std=0.01)
        if kind in ("mlp", "neumf"):
            self.um = nn.Embedding(users, layers[0] // 2)
            self.im = nn.Embedding(items, layers[0] // 2)
            nn.init.normal_(self.um.weight, std=0.01)
            nn.init.normal_(self.im.weight, std=0.01)
            tower = []
            for a, b in zip(layers[:-1], layers[1:]):
                lin = nn.Linear(a, b)
                nn.init.xavier_uniform_(lin.weight)
                tower += [lin, nn.ReLU()]
            self.tower = nn.Sequential(*tower)
        width = (factors if kind in ("gmf", "neumf") else 0) + (layers[-1] if kind in ("mlp", "neumf") else 0)
        self.out = nn.Linear(width, 1)
        nn.init.kaiming_uniform_(self.out.weight, a=1, nonlinearity="sigmoid")

    def forward(self, u, i):
        parts = []
        if self.kind in ("gmf", "neumf"):
            parts.append(self.ug(u) * self.ig(i))
        if self.kind in ("mlp", "neumf"):
            parts.append(self.tower(torch.cat([self.um(u), self.im(i)], dim=1)))
        return self.out(torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]).squeeze(1)


def sample_epoch(train, items, seen, negatives, rng):
    n = len(train)
    users = np.repeat(train[:, 0], 1 + negatives)
    its = np.empty(n * (1 + negatives), dtype=np.int64)
    labels = np.zeros(n * (1 + negatives), dtype=np.float32)
    its[:: 1 + negatives] = train[:, 1]
    labels[:: 1 + negatives] = 1
    for k in range(1, 1 + negatives):
        cand = rng.integers(0, items, n)
        for p in range(n):  # rejection sampling of unseen items
            while cand[p] in seen[train[p, 0]]:
                cand[p] = rng.integers(0, items)
        its[k :: 1 + negatives] = cand
    order = rng.permutation(len(users))
    return torch.from_numpy(users[order]), torch.from_numpy(its[order]), torch.from_numpy(labels[order])


def evaluate(model, tests, negs):
    with torch.no_grad():
        users = torch.tensor([u for (u, _), n in zip(tests, negs) for _ in range(len(n) + 1)])
        items = torch.tensor([x for (_, i), n in zip(tests, negs) for x in [i] + n])
        scores = model(users, items).numpy()
    hr = ndcg = 0.0
    pos = 0
    for n in negs:
        block = scores[pos : pos + len(n) + 1]
        rank = int((block[1:] >= block[0]).sum())
        if rank < 10:
            hr += 1
            ndcg += np.log(2) / np.log(rank + 2)
        pos += len(n) + 1
    return hr / len(negs), ndcg / len(negs)


def main():
    prefix = sys.argv[1]
    models = sys.argv[2].split(",")
    epochs = int(sys.argv[3])
    batch = int(sys.argv[4]) if len(sys.argv) > 4 else 256
    max_positives = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    threads = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    if threads > 0:
        torch.set_num_threads(threads)
    torch.manual_seed(42)
    train, tests, negs, users, items = read_ncf(prefix)
    full_train = train
    if max_positives > 0:
        train = train[:max_positives]
    seen = [set() for _ in range(users)]
    for u, i in full_train:
        seen[u].add(int(i))
    rng = np.random.default_rng(42)
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "batch_size": batch, "epochs": epochs,
           "users": users, "items": items, "train_interactions": int(len(train)), "models": {}}
    for kind in models:
        model = NCF(kind, users, items)
        opt = torch.optim.Adam(model.parameters(), lr=0.001)
        loss_fn = nn.BCEWithLogitsLoss()
        samples = 0
        train_s = 0.0
        sampling_s = 0.0
        steps = 0
        cpu_s = 0.0
        for _ in range(epochs):
            t0 = time.perf_counter()
            u, i, y = sample_epoch(train, items, seen, 4, rng)
            t1 = time.perf_counter()
            model.train()
            c1 = time.process_time()
            for s in range(0, len(y), batch):
                opt.zero_grad()
                loss = loss_fn(model(u[s : s + batch], i[s : s + batch]), y[s : s + batch])
                loss.backward()
                opt.step()
                steps += 1
            t2 = time.perf_counter()
            cpu_s += time.process_time() - c1
            sampling_s += t1 - t0
            train_s += t2 - t1
            samples += len(y)
        model.eval()
        hr, ndcg = evaluate(model, tests, negs)
        with torch.no_grad():
            all_items = torch.arange(items)
            lat = []
            for user in range(min(users, 200)):
                t = time.perf_counter()
                model(torch.full((items,), user, dtype=torch.long), all_items)
                lat.append((time.perf_counter() - t) * 1000)
        lat.sort()
        out["models"][kind] = {
            "samples_per_second": round(samples / train_s),
            "samples_per_cpu_second": round(samples / cpu_s),
            "ms_per_step": round(train_s * 1000 / steps, 3),
            "sampling_seconds": round(sampling_s, 2),
            "train_seconds": round(train_s, 2),
            "hr@10": round(hr, 4),
            "ndcg@10": round(ndcg, 4),
            "score_all_items_p50_ms": round(lat[len(lat) // 2], 3),
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
