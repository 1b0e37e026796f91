"""Train a conditional GAN once, save it, then load it in a fresh process and sample by class.

    python examples/train_save_sample.py                 # digits, 1500 steps (about 2 CPU minutes)
    python examples/train_save_sample.py --steps 20      # a quick smoke run
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import ganaug

LOAD_AND_SAMPLE = """
import sys, ganaug
gen = ganaug.load_generator(sys.argv[1], device="cpu")
images, labels = gen.sample(10, labels=int(sys.argv[2]), seed=0)
print(f"fresh process: {len(images)} images of class {gen.classes[int(sys.argv[2])]!r}, shape {tuple(images.shape)}")
"""


def main(argv=None) -> Path:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--out", default="runs/example_digits")
    p.add_argument("--label", type=int, default=7)
    args = p.parse_args(argv)

    data = ganaug.load_dataset("digits")
    gen, _ = ganaug.fit(data, ganaug.TrainConfig(steps=args.steps, sample_every=0), out_dir=args.out,
                        overwrite=True)  # a fresh run each time the example is run
    path = Path(args.out) / "my_generator.pt"
    gen.save(path)
    out = subprocess.run([sys.executable, "-c", LOAD_AND_SAMPLE, str(path), str(args.label)],
                         check=True, capture_output=True, text=True).stdout
    print(out.strip())
    return path


if __name__ == "__main__":
    main()
