import { testingErrors } from "./errors.ts";
import { errorsContract } from "./errors-contract.ts";

errorsContract("testing", testingErrors, {
  TF_TESTING_NO_HTTP_HANDLER: { token: "twelvefold/HttpHandler" },
  TF_TESTING_NO_LISTENER: { token: "twelvefold/HttpListener" },
  TF_TESTING_TIMEOUT: { what: "a redelivery", patienceMs: 2_000 },
});
