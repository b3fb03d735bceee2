"""How images are put into batches: one group per image size, in the order they came."""


def by_size(images) -> list:
    """Indices of ``images`` (tensors, or shapes) grouped by their last three dimensions (C, H, W),
    groups in order of first appearance and indices in order within a group."""
    groups = {}
    for i, image in enumerate(images):
        shape = tuple(getattr(image, "shape", image))[-3:]
        groups.setdefault(shape, []).append(i)
    return list(groups.values())
