"""Real images for the end-to-end check, offline: the course's data_dict.

Two sources, one shape (D = 3 072 pixels + the bias column, float64, as the
course notebook's `preprocess_cifar10(bias_trick=True, dtype=torch.float64)`):

- `digits()`: the 1 797 8x8 handwritten digits that ship inside scikit-learn
  (no download), made to look like CIFAR-10: upsampled to 32x32 (bilinear),
  copied to three channels, scaled to [0, 1]; then the course's preprocessing.
  A fixed-seed permutation splits them into train / val / test.
- `cifar10(folder)`: the standard CIFAR-10 "python version" folder
  (data_batch_1 ... data_batch_5, test_batch: pickled dicts with b"data", a
  uint8 (N, 3072) array in channel-major order, and b"labels"), with the
  course's split: the last 20 % of the 50 000 training images are the
  validation set.

The course's preprocessing (eecs598/data.py, preprocess_cifar10): scale to
[0, 1]; subtract the mean RGB (one mean per channel, over the whole training set,
validation rows included, before the split); flatten; append a column of ones.
"""
import pickle
from pathlib import Path
from typing import Dict, Optional

import numpy as np
import torch
from harness.errors import DataUnavailable

CHANNELS, SIDE = 3, 32
D = CHANNELS * SIDE * SIDE          # 3 072, plus the bias column
DIGITS_SEED = 0
DIGITS_SPLIT = (1200, 300)          # train, val; the remaining 297 are the test split
VALIDATION_RATIO = 0.2              # the course's preprocess_cifar10 default
CIFAR_FILES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)


def preprocess(images: torch.Tensor, labels: torch.Tensor, test_images: torch.Tensor,
               test_labels: torch.Tensor, validation_ratio: float = VALIDATION_RATIO,
               dtype=torch.float64) -> Dict[str, torch.Tensor]:
    """The course's preprocess_cifar10(bias_trick=True): images (N, 3, 32, 32) in [0, 1]."""
    X_train, X_test = images.to(dtype), test_images.to(dtype)
    mean_rgb = X_train.mean(dim=(0, 2, 3), keepdim=True)
    X_train, X_test = X_train - mean_rgb, X_test - mean_rgb
    X_train, X_test = X_train.reshape(len(X_train), -1), X_test.reshape(len(X_test), -1)
    X_train = torch.cat([X_train, torch.ones(len(X_train), 1, dtype=dtype)], dim=1)
    X_test = torch.cat([X_test, torch.ones(len(X_test), 1, dtype=dtype)], dim=1)
    num_training = int(X_train.shape[0] * (1.0 - validation_ratio))
    return {"X_train": X_train[:num_training].contiguous(), "y_train": labels[:num_training].clone(),
            "X_val": X_train[num_training:].contiguous(), "y_val": labels[num_training:].clone(),
            "X_test": X_test, "y_test": test_labels.clone()}


def digits(seed: int = DIGITS_SEED) -> Dict[str, torch.Tensor]:
    """scikit-learn's digits as a CIFAR-shaped data_dict (train 1 200, val 300, test 297)."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise DataUnavailable("the end-to-end check needs scikit-learn's digits: "
                              "pip install -r requirements-e2e.txt (or give --cifar DIR)") from None
    bunch = load_digits()
    images = torch.from_numpy(np.asarray(bunch.images, dtype=np.float64)) / 16.0  # 0..16 -> [0, 1]
    labels = torch.from_numpy(np.asarray(bunch.target, dtype=np.int64))
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    images, labels = images[order], labels[order]
    big = torch.nn.functional.interpolate(images[:, None], size=(SIDE, SIDE), mode="bilinear",
                                          align_corners=False).clamp_(0.0, 1.0)
    big = big.expand(-1, CHANNELS, -1, -1)
    n_train, n_val = DIGITS_SPLIT
    n = n_train + n_val
    return preprocess(big[:n], labels[:n], big[n:], labels[n:], validation_ratio=n_val / n)


def _batch(path: Path):
    try:
        with open(path, "rb") as f:
            batch = pickle.load(f, encoding="bytes")  # the data set's own format (trusted input)
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
    except (OSError, pickle.UnpicklingError, KeyError, TypeError, ValueError, EOFError) as exc:
        raise DataUnavailable(f"{path} is not a CIFAR-10 python batch: {type(exc).__name__}: {exc}") from None
    if data.ndim != 2 or data.shape[1] != D or len(labels) != len(data):
        raise DataUnavailable(f"{path}: expected data of shape (N, {D}) and N labels, "
                              f"got {data.shape} and {labels.shape}")
    images = torch.from_numpy(data.reshape(-1, CHANNELS, SIDE, SIDE).copy())
    return images, torch.from_numpy(labels.copy())


def cifar10(folder, num_train: Optional[int] = None) -> Dict[str, torch.Tensor]:
    """The CIFAR-10 python folder as the course's data_dict (40 000 / 10 000 / 10 000).

    num_train (tests only) keeps the first num_train training images."""
    root = Path(folder).expanduser()
    missing = [name for name in CIFAR_FILES if not (root / name).is_file()]
    if missing:
        raise DataUnavailable(f"{root} is not the CIFAR-10 python folder (cifar-10-batches-py): "
                              f"no {', '.join(missing)}")
    parts = [_batch(root / name) for name in CIFAR_FILES[:-1]]
    images = torch.cat([p[0] for p in parts])
    labels = torch.cat([p[1] for p in parts])
    if num_train is not None:
        images, labels = images[:num_train], labels[:num_train]
    test_images, test_labels = _batch(root / "test_batch")
    scale = lambda x: x.to(torch.float64).div_(255.0)
    return preprocess(scale(images), labels, scale(test_images), test_labels)
