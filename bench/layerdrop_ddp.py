"""LayerDrop under DDP, two ways, on 2 CPU processes (gloo): training steps per second.

python bench/layerdrop_ddp.py [--quick]   ->  RESULT layerdrop_ddp <synced / find_unused steps per second>

(a) transformers' own LayerDrop, each rank drawing its own layers, with DDP told to look for
    unused parameters (``find_unused_parameters=True``, what the peers' users are told to set);
(b) vasr's :class:`~vasr.model.layerdrop.SyncedLayerDrop`: the same layers skipped on every rank,
    DDP's graph static.
Both: the tiny architecture (conf/model/tiny.yaml) with 8 layers, LayerDrop 0.1 (the reference
recipe's), gradient checkpointing, frozen feature encoder, AdamW, a fixed 8 x 4 s batch of noise
per rank, the same number of steps.
"""

from __future__ import annotations

import argparse
import os
import socket
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from omegaconf import OmegaConf
from torch.nn.parallel import DistributedDataParallel

from vasr.model.build import build_from_config
from vasr.model.layerdrop import SyncedLayerDrop
from vasr.text.vocab import PAD

VOCAB = {PAD: 0, **{chr(97 + i): i + 1 for i in range(26)}}


def model():
    torch.manual_seed(0)
    architecture = OmegaConf.to_container(OmegaConf.load("conf/model/tiny.yaml").architecture)
    net = build_from_config({**architecture, "num_hidden_layers": 8}, VOCAB, PAD, layerdrop=0.1)
    net.freeze_feature_encoder()
    net.gradient_checkpointing_enable()
    return net.train()


def steps_per_second(rank: int, synced: bool, steps: int) -> float:
    net = model()
    drop = SyncedLayerDrop(net, seed=0) if synced else None
    ddp = DistributedDataParallel(net, find_unused_parameters=not synced)
    optimizer = torch.optim.AdamW([p for p in net.parameters() if p.requires_grad], lr=1e-4)
    generator = torch.Generator().manual_seed(rank)
    audio = torch.randn(8, 64000, generator=generator)
    labels = torch.randint(1, len(VOCAB), (8, 40), generator=generator)
    start = 0.0
    for step in range(steps + 2):
        if step == 2:  # two warm-up steps
            dist.barrier()
            start = time.perf_counter()
        if drop is None:
            loss = ddp(audio, labels=labels).loss
        else:
            with drop.skipping(step, 0) as skipped:
                loss = ddp(audio, labels=labels).loss
            loss = loss + drop.zero_term(skipped)
        loss.backward()
        if drop is not None:
            drop.clear_unused_grads()
        optimizer.step()
        optimizer.zero_grad()
    dist.barrier()
    return steps / (time.perf_counter() - start)


def worker(rank: int, port: int, steps: int, results) -> None:
    os.environ |= {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=2)
    for synced in (False, True, False, True):  # alternated, so drift in the machine's speed hits both
        rate = steps_per_second(rank, synced, steps)
        if rank == 0:
            results.append((synced, rate))
    dist.destroy_process_group()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    steps = 5 if args.quick else 30
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with mp.Manager() as manager:
        results = manager.list()
        mp.spawn(worker, args=(port, steps, results), nprocs=2)
        rates = list(results)
    unused = sum(r for s, r in rates if not s) / 2
    synced = sum(r for s, r in rates if s) / 2
    print(f"(a) per-rank LayerDrop, find_unused_parameters=True: {unused:.3f} steps/s")
    print(f"(b) synced LayerDrop, static graph:                  {synced:.3f} steps/s")
    print(f"RESULT layerdrop_ddp {synced / unused:.3f}")


if __name__ == "__main__":
    main()
