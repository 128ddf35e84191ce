from typing import TYPE_CHECKING

from pydantic import Field, SecretStr

from services.register.settings import RegisterSettings
from services.shared.errors import ConfigError

if TYPE_CHECKING:
    from .web import Oidc


class ConsoleSettings(RegisterSettings):
    console_host: str = Field("127.0.0.1", description="Address the console listens on.")
    console_port: int = Field(8080, ge=1, le=65535, description="Port of the console.")
    console_secure_cookies: bool = Field(
        True, description="Session cookies are Secure (sent over HTTPS only) and `__Host-` "
        "prefixed; false only for a console reached over plain HTTP on this machine.")
    console_threads: int = Field(4, ge=1, le=64, description="Requests served at once.")
    oidc_issuer: str | None = Field(
        None, pattern=r"^https?://\S+$",
        description="An OpenID Connect provider's issuer URL (discovery at "
                    "<issuer>/.well-known/openid-configuration): the login page then offers it. "
                    "Unset: passwords only.")
    oidc_client_id: str | None = Field(None, description="The console's client id there.")
    oidc_client_secret: SecretStr | None = Field(
        None, description="The console's client secret there. Never logged.")
    oidc_username_claim: str = Field(
        "preferred_username", description="The ID token claim that names the console "
        "account (made with `covenant console user add NAME --oidc`).")
    oidc_name: str = Field("OpenID Connect", description="The provider's name on the login "
                           "page.")
    console_url: str | None = Field(
        None, pattern=r"^https?://\S+$", description="The console's public address, for the "
        "provider to send the browser back to; default: the address the browser used.")
    console_session_secret: SecretStr | None = Field(
        None, description="Signs the login state of an OpenID Connect login (a few seconds "
        "long); give every replica the same. Default: random per process.")

    def oidc(self) -> "Oidc | None":
        if not self.oidc_issuer:
            return None
        if not (self.oidc_client_id and self.oidc_client_secret):
            raise ConfigError("OIDC_ISSUER: needs OIDC_CLIENT_ID and OIDC_CLIENT_SECRET")
        from .web import Oidc

        extra = {"session_secret": self.console_session_secret.get_secret_value()} \
            if self.console_session_secret else {}
        return Oidc(self.oidc_issuer, self.oidc_client_id,
                    self.oidc_client_secret.get_secret_value(), self.oidc_username_claim,
                    self.oidc_name, public_url=self.console_url, **extra)
