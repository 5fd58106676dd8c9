"""The README's main job: `nabla demo` learns XOR."""
import subprocess
import sys

from nabla.cli import main


def test_demo_learns_xor(capsys):
    assert main(["demo", "--steps", "600"]) == 0
    out = capsys.readouterr().out
    assert "predictions for (0,0) (0,1) (1,0) (1,1): [0, 1, 1, 0]" in out
    losses = [float(line.split("loss")[1].split()[0]) for line in out.splitlines()
              if line.startswith("step")]
    assert losses[-1] < 0.1 * losses[0]


def test_module_entry_point():
    r = subprocess.run([sys.executable, "-m", "nabla.cli", "--help"], capture_output=True,
                       text=True)
    assert r.returncode == 0 and "demo" in r.stdout
