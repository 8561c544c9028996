"""Model management: installed Argos packages (packages), Hugging Face conversion (convert), scoring (evaluate).

It knows nothing of the translation runtime that uses the models; the web's models page reads it without torch.
"""
