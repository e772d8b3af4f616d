"""Training: each architecture's recipe from its report, compiled for ``model.fit``.

Example:

>>> model = build_model("resnet18_decoder", image_size=128)
>>> compile_model(model)                       # Adam 1e-3 + MSE, the report's recipe
>>> model.fit(make_dataset("photos/", 128, 16), epochs=10)
"""

import keras

from colorzoo.models import model_info


def compile_model(model, name=None, optimizer=None, learning_rate=None, loss=None, **compile_kwargs):
    """Compile ``model`` with the recipe registered for ``name`` (default: ``model.name``).

    ``optimizer`` (a name), ``learning_rate`` and ``loss`` override the recipe; other keyword
    arguments go to ``model.compile`` (e.g. ``jit_compile``, ``metrics``).
    """
    recipe = model_info(name or model.name).recipe
    learning_rate = learning_rate if learning_rate is not None else recipe["learning_rate"]
    if optimizer is None:
        schedule = recipe.get("schedule")
        optimizer = keras.optimizers.get(
            {
                "class_name": recipe["optimizer"],
                "config": {
                    "learning_rate": schedule(learning_rate) if schedule else learning_rate,
                    **recipe.get("optimizer_kwargs", {}),
                },
            }
        )
    elif isinstance(optimizer, str):
        optimizer = keras.optimizers.get({"class_name": optimizer, "config": {"learning_rate": learning_rate}})
    loss = loss if loss is not None else recipe["loss"]
    if callable(loss) and not isinstance(loss, keras.losses.Loss):
        loss = loss()
    model.compile(optimizer=optimizer, loss=loss, **compile_kwargs)
    return model
