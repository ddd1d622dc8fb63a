"""The OpenID Connect provider that clinical systems trust to say who is signed in, and how."""
