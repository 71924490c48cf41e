"""SemanticGen for ComfyUI. Only the V3 entry point and the web folder live here; nothing heavy is imported
until ComfyUI calls `comfy_entrypoint`, so this file imports cleanly outside ComfyUI too."""

WEB_DIRECTORY = "./js"


async def comfy_entrypoint():
    from .nodes import SemanticGenExtension

    return SemanticGenExtension()
