//! The route table: every path the router serves, each with the largest body it takes. Each
//! module's `routes()` builds its part here, so the router and [`crate::route_table`] (which
//! the crafted-input test walks) are made by the same calls and cannot drift apart.

use crate::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::MethodRouter;
use earlyhelp_domain::limits::{FORM_BODY, LONG_FORM_BODY, UPLOAD_BODY};

/// One path of the router, as written in its `routes()` (`/families/{id}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub path: &'static str,
    /// The largest request body it reads, in bytes; a larger one answers 413.
    pub body_limit: usize,
}

#[derive(Default)]
pub struct Routes {
    router: Router<AppState>,
    table: Vec<Route>,
}

impl Routes {
    pub fn new() -> Self {
        Routes::default()
    }

    /// A route whose forms are short (64 KiB).
    pub fn route(self, path: &'static str, method: MethodRouter<AppState>) -> Self {
        self.limited(path, method, FORM_BODY)
    }

    /// A route with long free text (a case note, the assessment, the request form).
    pub fn long_form(self, path: &'static str, method: MethodRouter<AppState>) -> Self {
        self.limited(path, method, LONG_FORM_BODY)
    }

    /// A route that takes a file or a load of data.
    pub fn upload(self, path: &'static str, method: MethodRouter<AppState>) -> Self {
        self.limited(path, method, UPLOAD_BODY)
    }

    /// A route that takes a file of its own size (an agency's list for matching).
    pub fn sized(self, path: &'static str, method: MethodRouter<AppState>, limit: usize) -> Self {
        self.limited(path, method, limit)
    }

    fn limited(mut self, path: &'static str, method: MethodRouter<AppState>, limit: usize) -> Self {
        self.router = self
            .router
            .route(path, method.layer(DefaultBodyLimit::max(limit)));
        self.table.push(Route {
            path,
            body_limit: limit,
        });
        self
    }

    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.table.extend(other.table);
        self
    }

    /// Changes the router (to add a layer to these routes only).
    pub fn map(mut self, f: impl FnOnce(Router<AppState>) -> Router<AppState>) -> Self {
        self.router = f(self.router);
        self
    }

    pub fn into_parts(self) -> (Router<AppState>, Vec<Route>) {
        (self.router, self.table)
    }
}
