"""Usage: zoo_torch.py <ncf prefix> <sasrec,hybrid,ease> <epochs> [threads, 0 = torch's default] [vocabulary size] [terms per item].

PyTorch anchor of tools/bench/recs-train for the recommender's newer models, on the same NCF-format split the
TF.js side trains on, written the way a PyTorch user would:
- sasrec: SASRec (Kang & McAuley 2018) as the TF.js model is built: item + position embeddings, causal single-head
  self-attention blocks with layer norm and a point-wise feed-forward, dropout 0.2, binary cross-entropy of each
  position's next item against one sampled negative, Adam (0.9, 0.98); windows of 50 items, the latest per user
  plus up to two random earlier ones per epoch; batch 128.
- hybrid: the two-tower hybrid: user embedding · (item embedding + Σ_t x_it W_t), BPR loss, item embedding dropped
  from half the examples, Adam, batch 1024; then again with sparse embedding gradients and SparseAdam (the rows a
  batch touches only, as Pulse's hybrid updates them), reported as `sparse_adam`. Term ids and weights are random with the TF.js side's shapes
  (vocabulary size, terms per item): the speed does not depend on their values.
- ease: EASE^R's closed form, torch.linalg.inv of the Gram matrix + λI in float32; the figure is seconds.
A sample is one scored (position or user, item) pair, as the TF.js side counts. Prints one JSON line."""
import json
import math
import sys
import time

import numpy as np
import torch
from torch import nn


def read_split(prefix):
    train = np.loadtxt(f"{prefix}.train.rating", dtype=np.float64, usecols=(0, 1, 3), ndmin=2)
    users = int(train[:, 0].max()) + 1
    items = int(train[:, 1].max()) + 1
    with open(f"{prefix}.test.negative") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if parts[0]:
                items = max(items, int(parts[0].strip("()").split(",")[1]) + 1, *(int(x) + 1 for x in parts[1:] if x))
    return train, users, items


class Block(nn.Module):
    def __init__(self, d, dropout):
        super().__init__()
        self.ln1 = nn.LayerNorm(d, eps=1e-8)
        self.q = nn.Linear(d, d, bias=False)
        self.k = nn.Linear(d, d, bias=False)
        self.v = nn.Linear(d, d, bias=False)
        self.ln2 = nn.LayerNorm(d, eps=1e-8)
        self.ff = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Dropout(dropout), nn.Linear(d, d), nn.Dropout(dropout))
        self.drop = nn.Dropout(dropout)

    def forward(self, x, blocked, mask):
        q = self.ln1(x)
        att = torch.softmax(self.q(q) @ self.k(x).transpose(1, 2) / math.sqrt(x.shape[-1]) + blocked, dim=-1)
        x = self.ln2(q + self.drop(att) @ self.v(x))
        return (x + self.ff(x)) * mask


class SasRec(nn.Module):
    def __init__(self, items, d=64, length=50, blocks=2, dropout=0.2):
        super().__init__()
        self.items = nn.Embedding(items + 1, d)
        self.positions = nn.Parameter(torch.randn(length, d) / math.sqrt(d))
        nn.init.normal_(self.items.weight, std=1 / math.sqrt(d))
        self.blocks = nn.ModuleList([Block(d, dropout) for _ in range(blocks)])
        self.final = nn.LayerNorm(d, eps=1e-8)
        self.drop = nn.Dropout(dropout)
        self.d = d

    def forward(self, seq):
        mask = (seq != 0).float().unsqueeze(-1)
        x = self.drop(self.items(seq) * math.sqrt(self.d) + self.positions) * mask
        length = seq.shape[1]
        causal = torch.tril(torch.ones(length, length))
        blocked = (1 - causal.unsqueeze(0) * mask.transpose(1, 2)) * -1e9
        for block in self.blocks:
            x = block(x, blocked, mask)
        return self.final(x)


def bench_sasrec(train, users, items, epochs, rng):
    length, batch = 50, 128
    order = np.lexsort((np.arange(len(train)), train[:, 2], train[:, 0]))
    seqs = [[] for _ in range(users)]
    for r in order:
        seqs[int(train[r, 0])].append(int(train[r, 1]))
    seen = [set(s) for s in seqs]
    model = SasRec(items)
    opt = torch.optim.Adam(model.parameters(), lr=0.001, betas=(0.9, 0.98))
    samples = 0
    train_s = 0.0
    cpu_s = 0.0
    for _ in range(epochs):
        picks = []
        for u, s in enumerate(seqs):
            if len(s) < 2:
                continue
            picks.append((u, len(s)))
            for _ in range(min(2, (len(s) - 1) // length)):
                picks.append((u, 2 + int(rng.integers(0, len(s) - 1))))
        rng.shuffle(picks)
        t0 = time.perf_counter()
        c0 = time.process_time()
        for b in range(0, len(picks), batch):
            chunk = picks[b : b + batch]
            inp = np.zeros((len(chunk), length), dtype=np.int64)
            pos = np.zeros_like(inp)
            neg = np.zeros_like(inp)
            for row, (u, end) in enumerate(chunk):
                s = seqs[u]
                start = max(0, end - length - 1)
                n = end - 1 - start
                inp[row, length - n :] = np.array(s[start : end - 1]) + 1
                pos[row, length - n :] = np.array(s[start + 1 : end]) + 1
                for t in range(length - n, length):
                    j = int(rng.integers(0, items))
                    while j in seen[u]:
                        j = int(rng.integers(0, items))
                    neg[row, t] = j + 1
            inp, pos_t, neg_t = torch.from_numpy(inp), torch.from_numpy(pos), torch.from_numpy(neg)
            h = model(inp)
            lp = (h * model.items(pos_t)).sum(-1)
            ln = (h * model.items(neg_t)).sum(-1)
            w = (pos_t != 0).float()
            loss = ((nn.functional.softplus(-lp) + nn.functional.softplus(ln)) * w).sum() / w.sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            samples += 2 * int(w.sum().item())
        train_s += time.perf_counter() - t0
        cpu_s += time.process_time() - c0
    return {"samples_per_second": round(samples / train_s), "samples_per_cpu_second": round(samples / cpu_s),
            "train_seconds": round(train_s, 2), "samples": samples}


def bench_hybrid(train, users, items, epochs, rng, vocabulary, terms, sparse=False):
    d, batch = 64, 1024
    pairs = np.unique(train[:, :2].astype(np.int64), axis=0)
    seen = [set() for _ in range(users)]
    for u, i in pairs:
        seen[u].add(int(i))
    term_ids = torch.from_numpy(rng.integers(0, vocabulary, (items, terms)))
    term_w = torch.from_numpy(rng.random((items, terms)).astype(np.float32) / math.sqrt(terms)).unsqueeze(-1)
    P = nn.Embedding(users, d, sparse=sparse)
    E = nn.Embedding(items, d, sparse=sparse)
    W = nn.Embedding(vocabulary, d, sparse=sparse)
    for e in (P, E, W):
        nn.init.normal_(e.weight, std=0.05)
    params = [P.weight, E.weight, W.weight]
    opt = torch.optim.SparseAdam(params, lr=0.005) if sparse else torch.optim.Adam(params, lr=0.005)

    def vec(ids, keep):
        return E(ids) * keep.unsqueeze(1) + (W(term_ids[ids]) * term_w[ids]).sum(1)

    samples = 0
    train_s = 0.0
    cpu_s = 0.0
    for _ in range(epochs):
        order = rng.permutation(len(pairs))
        neg = rng.integers(0, items, len(pairs))
        for p in range(len(pairs)):
            u = pairs[order[p], 0]
            while neg[p] in seen[u]:
                neg[p] = rng.integers(0, items)
        t0 = time.perf_counter()
        c0 = time.process_time()
        for b in range(0, len(pairs), batch):
            idx = order[b : b + batch]
            u = torch.from_numpy(pairs[idx, 0])
            i = torch.from_numpy(pairs[idx, 1])
            j = torch.from_numpy(neg[b : b + batch])
            ki = (torch.rand(len(idx)) >= 0.5).float()
            kj = (torch.rand(len(idx)) >= 0.5).float()
            pu, vi, vj = P(u), vec(i, ki), vec(j, kj)
            x = (pu * (vi - vj)).sum(1)
            loss = nn.functional.softplus(-x).mean() + 1e-4 * ((pu**2).sum() + (vi**2).sum() + (vj**2).sum()) / len(idx)
            opt.zero_grad()
            loss.backward()
            opt.step()
            samples += 2 * len(idx)
        train_s += time.perf_counter() - t0
        cpu_s += time.process_time() - c0
    return {"samples_per_second": round(samples / train_s), "samples_per_cpu_second": round(samples / cpu_s),
            "train_seconds": round(train_s, 2), "samples": samples}


def bench_ease(train, users, items):
    t0 = time.perf_counter()
    c0 = time.process_time()
    pairs = np.unique(train[:, :2].astype(np.int64), axis=0)
    active = np.unique(pairs[:, 1])
    col = np.searchsorted(active, pairs[:, 1])
    x = torch.zeros(users, len(active))
    x[torch.from_numpy(pairs[:, 0]), torch.from_numpy(col)] = 1
    g = x.T @ x + 1000 * torch.eye(len(active))
    p = torch.linalg.inv(g)
    b = -p / torch.diagonal(p)
    b.fill_diagonal_(0)
    return {"train_seconds": round(time.perf_counter() - t0, 2), "cpu_seconds": round(time.process_time() - c0, 2),
            "items": int(len(active))}


def main():
    prefix, models, epochs = sys.argv[1], sys.argv[2].split(","), int(sys.argv[3])
    threads = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    vocabulary = int(sys.argv[5]) if len(sys.argv) > 5 else 8000
    terms = int(sys.argv[6]) if len(sys.argv) > 6 else 32
    if threads > 0:
        torch.set_num_threads(threads)
    torch.manual_seed(42)
    rng = np.random.default_rng(42)
    train, users, items = read_split(prefix)
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "epochs": epochs, "models": {}}
    for m in models:
        if m == "sasrec":
            out["models"][m] = bench_sasrec(train, users, items, epochs, rng)
        elif m == "hybrid":
            out["models"][m] = bench_hybrid(train, users, items, epochs, rng, vocabulary, terms)
            # The same with sparse gradients and SparseAdam (only the rows a batch touches), as Pulse's hybrid.
            out["models"][m]["sparse_adam"] = bench_hybrid(train, users, items, epochs, rng, vocabulary, terms, sparse=True)
        elif m == "ease":
            out["models"][m] = bench_ease(train, users, items)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
