"""Small folders of real colour photos (scikit-image's samples) for tests that need files."""

import os

import numpy as np
import skimage.data
from PIL import Image

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")


def write_photo_folder(folder, size=48, count=8, ext="jpg"):
    """Write ``count`` crops of scikit-image's colour photos as ``size`` x ``size`` files; returns paths."""
    os.makedirs(folder, exist_ok=True)
    paths = []
    for index in range(count):
        photo = getattr(skimage.data, PHOTOS[index % len(PHOTOS)])()
        height, width = photo.shape[:2]
        offset = (index // len(PHOTOS)) * min(height, width) // 8
        side = min(height, width) - offset
        crop = photo[offset : offset + side, offset : offset + side]
        path = os.path.join(folder, f"photo_{index:02d}.{ext}")
        Image.fromarray(crop).resize((size, size), Image.BILINEAR).save(path)
        paths.append(path)
    return paths


def photo_array(width, height, name="astronaut"):
    """One scikit-image photo resized to ``width`` x ``height``, uint8 RGB."""
    return np.asarray(Image.fromarray(getattr(skimage.data, name)()).resize((width, height), Image.BILINEAR))
