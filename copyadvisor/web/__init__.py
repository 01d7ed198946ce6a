"""Browser interfaces (Gradio app)."""
