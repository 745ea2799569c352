// The API documentation page: Swagger UI from the app's own files (no CDN), started from this module
// because the page's Content-Security-Policy allows no inline script. swagger-ui-bundle.js, loaded before
// this module as a classic script, defines window.SwaggerUIBundle.
const { SwaggerUIBundle } = window;

SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  deepLinking: true,
  // "Try it out" logs in with the password form against /api/auth/login (same origin, allowed by the CSP).
  persistAuthorization: false,
});
