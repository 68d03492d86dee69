//! The OpenAPI 3.1 document at `/api/v1/openapi.json`, built from the routes each module
//! declares. The same declarations are checked against the router in a test, so a route
//! cannot exist without being documented.

use serde_json::{json, Map, Value};

/// One documented API operation.
#[derive(Debug, Clone)]
pub struct ApiRoute {
    pub method: &'static str,
    /// Path in OpenAPI form: `/api/v1/parties/{id}`.
    pub path: &'static str,
    pub summary: &'static str,
    pub tag: &'static str,
    /// The permission the operation requires.
    pub permission: Option<&'static str>,
    /// Query parameters: (name, description).
    pub query: &'static [(&'static str, &'static str)],
    /// JSON schema of the request body, if it takes one.
    pub request: Option<fn() -> Value>,
    /// JSON schema of the success response.
    pub response: fn() -> Value,
}

/// A schema for "any JSON object", for routes whose body is documented in prose.
pub fn object() -> Value {
    json!({"type": "object"})
}

/// The whole document.
pub fn document(routes: &[ApiRoute]) -> Value {
    let mut paths = Map::new();
    for route in routes {
        let mut parameters: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        parameters.extend(
            route
                .query
                .iter()
                .map(|(name, description)| json!({"name": name, "in": "query", "required": false, "description": description, "schema": {"type": "string"}})),
        );
        let mut operation = json!({
            "summary": route.summary,
            "tags": [route.tag],
            "parameters": parameters,
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": (route.response)()}}},
                "default": {"description": "An RFC 9457 problem", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            }
        });
        if let Some(permission) = route.permission {
            operation["x-permission"] = json!(permission);
        }
        if let Some(request) = route.request {
            operation["requestBody"] =
                json!({"required": true, "content": {"application/json": {"schema": request()}}});
        }
        let entry = paths.entry(route.path.to_string()).or_insert_with(|| json!({}));
        entry[route.method.to_ascii_lowercase()] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Zhongshu API", "version": env!("CARGO_PKG_VERSION")},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Problem": {
                "type": "object",
                "properties": {
                    "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                    "detail": {"type": "string"}, "instance": {"type": "string"},
                    "errors": {"type": "array", "items": {"type": "object", "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}}
                }
            }}
        },
        "security": [{"bearer": []}]
    })
}
