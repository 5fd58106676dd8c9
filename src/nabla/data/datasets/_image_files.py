"""What the readers of image files (MNIST/Fashion-MNIST IDX, CIFAR-10 binary) share."""
from __future__ import annotations

from ..dataset import Dataset
from ..transforms import ToTensor


class ImageFileDataset(Dataset):
    """A split read from the user's files: ``ds[i]`` is ``(image, int label)``.

    ``transform`` receives the image as stored (a uint8 NumPy array, what PIL
    would hold in torchvision); without a transform the image is what
    ``ToTensor()`` makes of it. Subclasses set ``root`` and ``train`` and give
    ``_raw(index) -> (uint8 image, int label)``.
    """

    root: str
    train: bool
    transform = None
    target_transform = None

    def _raw(self, index: int) -> tuple:
        raise NotImplementedError

    def __getitem__(self, index: int):
        img, target = self._raw(index)
        img = self.transform(img) if self.transform is not None else ToTensor()(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __repr__(self) -> str:
        split = "train" if self.train else "test"
        return f"{type(self).__name__}(split={split}, samples={len(self)}, root={self.root!r})"
