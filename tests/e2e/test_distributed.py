"""The reference recipe under DDP, and multi-node launches (torchrun, srun), through train.py on CPU."""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import lightning as L
import pytest
import torch

from tests.conftest import ROOT
from tests.e2e.test_train import clean_env, corpus_args, finish, launch, run
from tests.waiting import complete_lines, poll
from vasr.data.datamodule import SpeechDataModule
from vasr.data.features import Waveform
from vasr.data.splits import load_splits
from vasr.model.export import load_checkpoint
from vasr.model.layerdrop import SyncedLayerDrop
from vasr.model.module import CTCModule
from vasr.recipe.plots import read_metrics

pytestmark = pytest.mark.slow
QUICK = ["model=micro", "logger=csv", "decode=greedy", "~nlu", "data.loader.max_seconds=20", "test_after_fit=false"]
# Two CPU processes over gloo.
TWO_RANKS = ["trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2"]
# What the resume tests run with: the default logger (W&B offline, and metrics.csv).
RESUMABLE = [option for option in QUICK if option != "logger=csv"]
# The fault tests' bounds: a collective waits this long for a lost rank, the others this long to check in.
TIMEOUT, WAIT = 60, 10  # the timeout also bounds how long the ranks wait for each other to start


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_reference_recipe_under_ddp_validates_like_one_process(corpus, base_like_checkpoint, tmp_path):
    """model=nguyenvulebinh as shipped: LayerDrop 0.1, gradient checkpointing, frozen encoder, union vocab,
    with augmentation (speed, rooms, noise) in both ranks' loaders; both ranks write one run folder (the default
    run name) and one export."""
    result = run(
        "train.py",
        "model=nguyenvulebinh",
        f"model.pretrained={base_like_checkpoint}",
        "data.loader.batch_size=2",
        "data.loader.max_seconds=null",
        "logger=csv",
        "decode=greedy",
        "~nlu",
        "test_after_fit=false",
        *corpus_args(corpus),
        "data.loader.eval_batch_size=2",
        f"paths.runs_dir={tmp_path}",
        "trainer=ddp",
        "trainer.accelerator=cpu",
        "trainer.devices=2",
        "trainer.max_steps=12",
        "model.freeze_transformer_steps=3",  # the head-only steps' zero-gradient term under DDP
        "augment=default",
        timeout=420,
    )
    (folder,) = (tmp_path / "train").iterdir()
    assert (folder / "export" / "model.safetensors").exists()
    output = result.stdout + result.stderr
    assert output.count("augmenting training audio: speeds 0.9/1/1.1, reverb (p 0.3), noise (p 0.3)") == 2  # ranks
    model, tokenizer = load_checkpoint(folder / "checkpoints" / "last.ckpt")
    assert model.config.layerdrop == 0.1 and model.config.vocab_size == len(tokenizer) > 40  # union vocabulary
    module = CTCModule(model, tokenizer, freeze_feature_encoder=True, gradient_checkpointing=True)
    skips = [module.layerdrop.draw(step, step % 3) for step in range(12)]
    assert any(skips)  # layers were dropped (the same ones on both ranks)
    series = read_metrics(folder / "metrics.csv")
    ddp_step, ddp_wer = series["val/wer"][-1]
    assert ddp_step == 11 and {count for _, count in series["val/utterances"]} == {6}  # each time: the whole split
    options = {"val_ratio": 0.25, "test_ratio": 0.25, "numbers": "verbalize"}  # as data=soict reads it
    splits, _ = load_splits(corpus / "manifest.jsonl", corpus / "audio", **options)
    dm = SpeechDataModule(splits, tokenizer, eval_batch_size=2, features=Waveform(attention_mask=False))
    trainer = L.Trainer(accelerator="cpu", devices=1, logger=False, enable_progress_bar=False)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as each of the 2 DDP processes ran: same kernels, same sums
    try:
        single = trainer.validate(module, dm, verbose=False)[0]
    finally:
        torch.set_num_threads(threads)
    assert single["val/wer"] == pytest.approx(ddp_wer, abs=1e-6)
    assert single["val/cer"] == pytest.approx(series["val/cer"][-1][1], abs=1e-6)


def test_synced_layerdrop_draws_alike_on_every_rank(base_like_checkpoint):
    from transformers import Wav2Vec2ForCTC

    ranks = [SyncedLayerDrop(Wav2Vec2ForCTC.from_pretrained(base_like_checkpoint), seed=3) for _ in range(2)]
    draws = [[rank.draw(step, 0) for step in range(50)] for rank in ranks]
    assert draws[0] == draws[1] and 0 < sum(map(len, draws[0])) < 50 * 4


def two_node_commands(launcher: str, corpus, tmp_path) -> list[tuple[list[str], dict]]:
    args = [
        str(ROOT / "train.py"),
        *QUICK,
        *corpus_args(corpus),
        f"paths.runs_dir={tmp_path}",
        "trainer.accelerator=cpu",
        "trainer.strategy=ddp",
        "trainer.devices=1",
        "trainer.num_nodes=2",
        "trainer.max_steps=3",
    ]
    port = free_port()
    if launcher == "torchrun":
        rdzv = ["--nnodes=2", "--nproc_per_node=1", "--rdzv-backend=c10d", f"--rdzv-endpoint=127.0.0.1:{port}"]
        command = [sys.executable, "-m", "torch.distributed.run", *rdzv, "--rdzv-id=job7", *args]
        return [(command, {}), (command, {})]
    slurm = {"SLURM_JOB_ID": "4242", "SLURM_STEP_ID": "0", "SLURM_NTASKS": "2", "SLURM_NTASKS_PER_NODE": "1"}
    slurm |= {"SLURM_JOB_NAME": "vasr", "SLURM_NODELIST": "127.0.0.1", "MASTER_PORT": str(port)}
    return [
        ([sys.executable, *args], slurm | {"SLURM_PROCID": str(r), "SLURM_LOCALID": "0", "SLURM_NODEID": str(r)})
        for r in range(2)
    ]


@pytest.mark.parametrize("launcher", ["torchrun", "srun"])
def test_two_nodes_write_one_run_folder(launcher, corpus, tmp_path):
    """Two 'nodes' on this machine, started as torchrun or srun starts them: one folder, one export."""
    processes = [launch(command, **env) for command, env in two_node_commands(launcher, corpus, tmp_path)]
    for process in processes:
        finish(process, timeout=300)
    folders = list((tmp_path / "train").iterdir())
    assert len(folders) == 1, folders
    name = "torchrun-job7" if launcher == "torchrun" else "slurm4242.0"
    assert folders[0].name == f"micro-union-{name}"
    assert (folders[0] / "export" / "model.safetensors").exists()
    assert torch.load(folders[0] / "checkpoints" / "last.ckpt", weights_only=False)["global_step"] == 3


def test_resume_on_another_number_of_ranks_trains_the_rest_of_the_epoch_once(corpus, tmp_path):
    """Stopped after 2 steps on 2 ranks (4 of the epoch's 6 batches), resumed on 1: the 2 left, then epoch 1;
    resumed with other batch settings: refused, naming them."""
    common = [
        *RESUMABLE,
        *corpus_args(corpus),
        "data.loader.batch_size=2",
        "data.loader.max_seconds=null",
        f"paths.runs_dir={tmp_path}",
        "run_name=moved",
        "trainer.accelerator=cpu",
        "trainer.val_check_interval=null",
        "trainer.check_val_every_n_epoch=100",
        "+callbacks.record._target_=tests.batch_recorder.RecordBatches",
        "+callbacks.record.path=${paths.output_dir}/batches.jsonl",
    ]
    run("train.py", *common, "trainer=ddp", "trainer.devices=2", "trainer.max_steps=2", timeout=420)
    refused = launch(
        [
            sys.executable,
            str(ROOT / "train.py"),
            *common,
            "trainer.devices=1",
            "ckpt_path=last",
            "data.loader.batch_size=3",
        ]
    )
    _, stderr = refused.communicate(timeout=300)
    assert refused.returncode != 0 and "batch_size 2 in the checkpoint, 3 now" in stderr
    run("train.py", *common, "trainer.devices=1", "ckpt_path=last", "trainer.max_steps=5", timeout=300)
    rows = [json.loads(line) for line in (tmp_path / "train" / "moved" / "batches.jsonl").read_text().splitlines()]
    epoch0 = [row["ids"] for row in rows if row["step"] < 4]
    assert sorted((row["step"], row["rank"]) for row in rows[:4]) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert [row["step"] for row in rows[4:]] == [2, 3, 4]  # on one rank: the epoch's 2 left, then epoch 1
    splits = load_splits(corpus / "manifest.jsonl", corpus / "audio", val_ratio=0.25, test_ratio=0.25)[0]
    assert sorted(i for ids in epoch0 for i in ids) == sorted(item.id for item in splits["train"])  # each once


def faulty_run(corpus, tmp_path) -> list[str]:
    """The overrides of the 2-rank gloo run the fault tests break and resume, with the default logger (W&B,
    offline)."""
    return [
        *RESUMABLE,
        *corpus_args(corpus),
        f"paths.runs_dir={tmp_path}",
        "run_name=faulty",
        "trainer=ddp",
        "trainer.accelerator=cpu",
        "trainer.devices=2",
        "trainer.val_check_interval=2",
    ]


def ddp_process(corpus, tmp_path, *extra: str) -> subprocess.Popen:
    """A 2-rank gloo run that trains until stopped, checkpointing every 2 steps; its output in ``ddp.log``."""
    return subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "train.py"),
            *faulty_run(corpus, tmp_path),
            "callbacks.last_checkpoint.every_n_steps=2",
            f"trainer.collective_timeout_s={TIMEOUT}",
            f"callbacks.rank_watch.wait_seconds={WAIT}",
            *extra,
        ],
        cwd=ROOT,
        env=clean_env(),
        stdout=(tmp_path / "ddp.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def ranks_of(process: subprocess.Popen, last: Path) -> tuple[int, int]:
    """(rank 0's pid, rank 1's pid) once the run has written a checkpoint (training is under way; StepCheckpoint
    renames a finished one into place, so it is whole once it exists)."""
    poll(last.exists, f"the run's first checkpoint ({last})", 300, process)
    children = subprocess.run(["pgrep", "-P", str(process.pid), "-f", "train.py"], capture_output=True, text=True)
    return process.pid, int(children.stdout.split()[0])


def gone(pid: int) -> bool:
    """Whether ``pid`` has exited (a zombie counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except FileNotFoundError:
        return True


def exits_within(pid: int, seconds: float) -> float:
    """How long ``pid`` took to exit; the test fails past ``seconds``."""
    start = time.monotonic()
    poll(lambda: gone(pid), f"pid {pid} exiting after the other rank died", seconds)
    return time.monotonic() - start


@pytest.mark.parametrize("fault", ["rank 0 killed", "rank 1 frozen"])
def test_a_dead_rank_ends_the_job_promptly_naming_it_and_last_resumes(fault, corpus, tmp_path):
    """The job ends within the configured bound (the collective's timeout, then the wait for the others to check
    in); the bounds below are that plus a generous minute for saving, closing the loggers and a loaded machine."""
    process = ddp_process(corpus, tmp_path, "trainer.max_steps=100000")
    last = tmp_path / "train" / "faulty" / "checkpoints" / "last.ckpt"
    bound = 2 * (TIMEOUT + WAIT) + 60
    try:
        rank0, rank1 = ranks_of(process, last)
        if fault == "rank 0 killed":
            os.kill(rank0, signal.SIGKILL)
            exits_within(rank1, bound)  # its next collective fails at once, and the store rank 0 hosted is gone
            expected = "rank 1: rank 0 is gone"
        else:
            os.kill(rank1, signal.SIGSTOP)  # alive but silent, like a node whose network went away
            assert exits_within(rank0, bound) >= TIMEOUT  # the collective's timeout ended it, not something else
            expected = (
                "rank 0: rank 1 is gone (killed, out of memory, frozen or its node lost: not heard from within 10 s"
            )
    finally:
        with contextlib.suppress(ProcessLookupError):  # every process of the group may have ended already
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert expected in (tmp_path / "ddp.log").read_text()
    step = torch.load(last, map_location="cpu", weights_only=False)["global_step"]
    resumed = run(
        "train.py",
        *faulty_run(corpus, tmp_path),
        "ckpt_path=last",
        f"trainer.max_steps={step + 2}",
        timeout=300,
    )
    output = resumed.stdout + resumed.stderr
    assert "Restoring states from the checkpoint" in output and "not resumable" not in output
    assert "a new W&B run" not in output  # the run's W&B id was found: the same W&B run goes on
    assert torch.load(last, map_location="cpu", weights_only=False)["global_step"] == step + 2
    assert len(list((tmp_path / "train" / "faulty" / "wandb").glob(f"offline-run-*-{wandb_id(tmp_path)}"))) == 2


def wandb_id(tmp_path: Path) -> str:
    return (tmp_path / "train" / "faulty" / "wandb_id.txt").read_text()


def test_slurm_signal_before_the_time_limit_saves_a_checkpoint_the_requeued_job_resumes(corpus, tmp_path):
    """What SLURM does 90 s before the job's time limit (conf/launcher/slurm.yaml's --signal=USR1@90) to a run
    it started: Lightning saves hpc_ckpt_1.ckpt in the run folder and requeues the job (scontrol, faked here);
    the requeued job (ckpt_path=auto) resumes from that checkpoint, with the default logger."""
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "scontrol").write_text(f'#!/bin/sh\necho "$@" >> {tmp_path / "scontrol.txt"}\n')
    (tools / "scontrol").chmod(0o755)
    slurm = {"SLURM_JOB_ID": "4243", "SLURM_STEP_ID": "0", "SLURM_NTASKS": "1", "SLURM_JOB_NAME": "vasr"}
    slurm |= {"SLURM_NODELIST": "127.0.0.1", "SLURM_PROCID": "0", "SLURM_LOCALID": "0", "SLURM_NODEID": "0"}
    slurm |= {"PATH": f"{tools}:{os.environ['PATH']}"}
    folder = tmp_path / "train" / "preempted"
    args = [
        *RESUMABLE,
        *corpus_args(corpus),
        f"paths.runs_dir={tmp_path}",
        "run_name=preempted",
        "trainer.accelerator=cpu",
        "ckpt_path=auto",  # as conf/launcher/slurm.yaml sets it
        "+callbacks.record._target_=tests.batch_recorder.RecordBatches",
        "+callbacks.record.path=${paths.output_dir}/batches.jsonl",
    ]
    process = launch([sys.executable, str(ROOT / "train.py"), *args, "trainer.max_steps=100000"], **slurm)
    batches, requeued = folder / "batches.jsonl", tmp_path / "scontrol.txt"
    try:
        poll(lambda: len(complete_lines(batches)) >= 3, "3 training batches", 300, process)
        trained = len(complete_lines(batches))
        process.send_signal(signal.SIGUSR1)  # its handler is set before the first batch (Trainer._run)
        # Lightning requeues once the checkpoint is saved; the file exists from the moment the fake scontrol opens it
        poll(lambda: complete_lines(requeued), "the requeue after the signal", 120, process)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # SLURM ends the job at its time limit
        process.communicate()
    assert requeued.read_text() == "requeue 4243\n"
    saved = folder / "hpc_ckpt_1.ckpt"
    step = torch.load(saved, map_location="cpu", weights_only=False)["global_step"]
    assert step >= trained - 1  # the step the signal came at, not the last periodic checkpoint (none yet)
    resumed = run("train.py", *args, f"trainer.max_steps={step + 2}", timeout=300, **slurm)
    assert f"Restoring states from the checkpoint path at {saved}" in resumed.stdout + resumed.stderr
    assert torch.load(folder / "checkpoints" / "last.ckpt", weights_only=False)["global_step"] == step + 2
