"""Copy a finished run's best.keras into weights/ and record it in weights/manifest.json.

Usage: .venv/bin/python scripts/ship_weights.py runs/resnet18_decoder [runs/zhang_classification ...]

The manifest entry holds the file, its sha256, the training configuration (run.json), the
epochs and steps trained, the wall time (from the run's files) and the validation scores of the
best epoch (log.csv). colorzoo.pretrained(name) checks the sha256 before loading.
"""

import csv
import json
import os
import shutil
import sys

from colorzoo import hub

MAX_FILE_BYTES = 50_000_000


def ship(run_dir, weights_dir=hub.WEIGHTS_DIR):
    with open(os.path.join(run_dir, "run.json")) as file:
        run = json.load(file)
    with open(os.path.join(run_dir, "log.csv")) as file:
        log = list(csv.DictReader(file))
    best_path = os.path.join(run_dir, "best.keras")
    if os.path.getsize(best_path) > MAX_FILE_BYTES:
        raise SystemExit(f"{best_path} is over {MAX_FILE_BYTES / 1e6:.0f} MB: train a narrower preset")
    model = hub.load_model(best_path)
    name = model.name
    monitor = "val_l1" if run.get("adversarial") else "val_loss"
    best = min(log, key=lambda row: float(row.get(monitor) or "inf"))
    os.makedirs(weights_dir, exist_ok=True)
    target = os.path.join(weights_dir, f"{name}.keras")
    shutil.copyfile(best_path, target)
    started = os.path.getmtime(os.path.join(run_dir, "run.json"))
    finished = os.path.getmtime(os.path.join(run_dir, "last.keras"))
    entries = hub.shipped_weights(weights_dir)
    entries[name] = {
        **entries.get(name, {}),
        "file": os.path.basename(target),
        "sha256": hub.sha256_of(target),
        "bytes": os.path.getsize(target),
        "parameters": model.count_params(),
        "image_size": run["image_size"],
        "model_kwargs": run.get("model_kwargs", {}),
        "batch_size": run["batch_size"],
        "epochs_trained": len(log),
        "best_epoch": int(best["epoch"]) + 1,
        "steps_per_epoch": run.get("steps_per_epoch"),
        "wall_minutes_last_session": round((finished - started) / 60, 1),
        "validation": {key: round(float(value), 4) for key, value in best.items() if key.startswith("val_")},
    }
    with open(os.path.join(weights_dir, hub.MANIFEST), "w") as file:
        json.dump(entries, file, indent=2, sort_keys=True)
        file.write("\n")
    print(f"shipped {target} ({os.path.getsize(target) / 1e6:.1f} MB, best epoch {entries[name]['best_epoch']})")


if __name__ == "__main__":
    for run_dir in sys.argv[1:]:
        ship(run_dir)
