"""(being written)"""


def install(namespace: dict) -> None:
    """Define this module's functions in `namespace` and its methods on Tensor."""
