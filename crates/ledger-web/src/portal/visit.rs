//! The opening every portal handler shares, written once as axum extractors: a [`Visit`] is a
//! signed-in visitor (not signed in: 303 to the sign-in page; the session's check failed: the
//! refused page); a [`CheckedForm`] a form whose CSRF token was checked FIRST (anyone's: signing
//! in, an invitation), a [`SignedForm`] one posted by a signed-in visitor (CSRF, then the
//! session), a [`SignedUpload`] the same for a form with a file. The CSRF rule is
//! [`super::csrf_refusal`] alone. A visit's answers keep the session's renewed tokens, so no
//! handler can forget them.

use ledger_app::pagination::ListOrder;
use std::collections::BTreeMap;

use axum::extract::{Form, FromRequest, FromRequestParts, Multipart, Query, Request};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use ledger_app::pagination::PageQuery;
use ledger_app::registry::{ListOrganisations, ListProgrammes, OrganisationView, ProgrammeView};
use ledger_app::{Action, AppError, Caller};
use minijinja::Value;

use super::session::SignedIn;
use super::upload::{Upload, read_upload};
use super::{
    Fields, Portal, csrf_refusal, error_page, form_page, refused, require_signed_in, see_other,
};
use crate::i18n::{Lang, negotiate};

/// Programmes offered by the portal's forms and named on its pages (the network runs a handful).
const LISTED_PROGRAMMES: u32 = 100;
/// Organisations listed and named on the portal's pages (the network has far fewer).
const LISTED_ORGANISATIONS: u32 = 1000;

/// A signed-in visitor and what its handler answers with.
pub(crate) struct Visit {
    pub(crate) portal: Portal,
    pub(crate) signed: SignedIn,
    pub(crate) headers: HeaderMap,
    pub(crate) uri: Uri,
    /// The page's language, from the request's `Accept-Language`.
    pub(crate) lang: Lang,
}

impl Visit {
    fn new(portal: &Portal, signed: SignedIn, headers: &HeaderMap, uri: &Uri) -> Visit {
        Visit {
            portal: portal.clone(),
            signed,
            headers: headers.clone(),
            uri: uri.clone(),
            lang: negotiate(headers),
        }
    }

    /// The visitor of a form already read (a multipart form read its own way): its CSRF token
    /// checked first, then the session, as [`SignedForm`] does.
    pub(crate) async fn of_form(
        portal: &Portal,
        headers: &HeaderMap,
        extensions: &Extensions,
        uri: &Uri,
        fields: &Fields,
    ) -> Result<Visit, Response> {
        let signed = super::signed_form(portal, headers, extensions, uri, fields).await?;
        Ok(Visit::new(portal, signed, headers, uri))
    }

    /// The programmes, as the visitor may read them, and their names by id.
    pub(crate) async fn programmes(
        &self,
    ) -> Result<(Vec<ProgrammeView>, BTreeMap<String, String>), AppError> {
        let page = PageQuery {
            limit: Some(LISTED_PROGRAMMES),
            cursor: None,
        };
        let programmes = self
            .portal
            .app
            .query(self.caller(), ListProgrammes(page))
            .await?
            .items;
        let names = programmes
            .iter()
            .map(|programme| (programme.id.to_string(), programme.name.clone()))
            .collect();
        Ok((programmes, names))
    }

    /// The organisations, as the visitor may read them.
    pub(crate) async fn organisations(&self) -> Result<Vec<OrganisationView>, AppError> {
        let page = PageQuery {
            limit: Some(LISTED_ORGANISATIONS),
            cursor: None,
        };
        let organisations = self
            .portal
            .app
            .query(self.caller(), ListOrganisations(page))
            .await?;
        Ok(organisations.items)
    }

    /// The query parameter of a page's one long list, or of the first of several.
    pub(crate) const CURSOR: &'static str = "cursor";

    /// The page of a long list asked for: the `cursor` of the visit's query string, as a list's
    /// `next_cursor` gave it (none or empty: the newest page). Passed to the list's query as is:
    /// one that is not valid is the query's refusal (422).
    pub(crate) fn cursor(&self) -> Option<String> {
        self.cursor_named(Visit::CURSOR)
    }

    /// The page asked for of the list whose cursor is the query parameter `name` (a page with
    /// two long lists pages each under its own name), as [`Visit::cursor`].
    pub(crate) fn cursor_named(&self, name: &str) -> Option<String> {
        cursor_of(&self.uri, name)
    }

    /// The links under a page of a long list running in `order` (`portal_paging.html`): `older`,
    /// to the next page of this same page when the list's query gave a `next_cursor`, and
    /// `newest`, back to the first page, when this is a later one. A list shown newest first
    /// names them "Older" and "Back to the newest"; one shown in recording order, "Next page"
    /// and "Back to the first page".
    pub(crate) fn paging(&self, order: ListOrder, next_cursor: Option<&str>) -> Value {
        self.paging_named(Visit::CURSOR, order, next_cursor)
    }

    /// The links under the list whose cursor is the query parameter `name`, as
    /// [`Visit::paging`] (see [`paging_links`]).
    pub(crate) fn paging_named(
        &self,
        name: &str,
        order: ListOrder,
        next_cursor: Option<&str>,
    ) -> Value {
        let (older, newest) = paging_links(&self.uri, self.uri.path(), name, next_cursor);
        paging_context(older, newest, order)
    }

    /// The links under a long list shown at `path` by a visit to another address (a form posted
    /// from the list, refused, shows the list again), as [`Visit::paging`].
    pub(crate) fn paging_at(
        &self,
        path: &str,
        order: ListOrder,
        next_cursor: Option<&str>,
    ) -> Value {
        let (older, newest) = paging_links(&self.uri, path, Visit::CURSOR, next_cursor);
        paging_context(older, newest, order)
    }

    /// `path` at the page of its list this visit asked for (a form posted from an older page
    /// carries its cursor; done, it sends the visitor back there).
    pub(crate) fn page_at(&self, path: &str) -> String {
        let cursor = self.cursor();
        let pairs: Vec<(&str, &str)> = cursor
            .as_deref()
            .map(|cursor| (Visit::CURSOR, cursor))
            .into_iter()
            .collect();
        match serde_urlencoded::to_string(&pairs) {
            Ok(query) if !query.is_empty() => format!("{path}?{query}"),
            _ => path.to_owned(),
        }
    }

    /// Who the session speaks for.
    pub(crate) fn caller(&self) -> &Caller {
        &self.signed.caller
    }

    /// Sets the session's renewed tokens, if any, on `response`.
    pub(crate) fn keep(&self, mut response: Response) -> Response {
        self.signed.keep(self.portal.cookies, &mut response);
        response
    }

    /// A portal page for this visitor (CSRF token for its forms, renewed tokens, no-store).
    pub(crate) fn page(&self, status: StatusCode, template: &str, data: Value) -> Response {
        form_page(
            &self.portal,
            status,
            template,
            &self.headers,
            &self.uri,
            Some(&self.signed),
            data,
        )
    }

    /// The page of a refused operation (the API's status), keeping renewed tokens.
    pub(crate) fn refused(&self, error: &AppError) -> Response {
        self.keep(refused(error, self.lang, &self.uri))
    }

    /// An error page with `status` and the message `key`, keeping renewed tokens.
    pub(crate) fn error_page(&self, status: StatusCode, key: &str) -> Response {
        self.keep(error_page(status, key, self.lang, &self.uri))
    }

    /// Performs `action` as the visitor: a 303 to `location` when done, the refused page if not.
    pub(crate) async fn perform_then_see<A: Action>(&self, action: A, location: &str) -> Response {
        match self.portal.app.perform(self.caller(), action).await {
            Ok(_) => self.see_other(location),
            Err(error) => self.refused(&error),
        }
    }

    /// A 303 to `location` after a POST, keeping renewed tokens.
    pub(crate) fn see_other(&self, location: &str) -> Response {
        self.keep(see_other(location))
    }
}

impl FromRequestParts<Portal> for Visit {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, portal: &Portal) -> Result<Visit, Response> {
        let signed =
            require_signed_in(portal, &parts.headers, &parts.extensions, &parts.uri).await?;
        Ok(Visit::new(portal, signed, &parts.headers, &parts.uri))
    }
}

/// The query string of `uri` as name–value pairs, in order (none when it cannot be read).
fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map(|Query(pairs)| pairs)
        .unwrap_or_default()
}

/// The cursor `uri` asks for under the query parameter `name` (none or empty: the newest page).
fn cursor_of(uri: &Uri, name: &str) -> Option<String> {
    query_pairs(uri)
        .into_iter()
        .find(|(key, _)| key == name)
        .map(|(_, cursor)| cursor)
        .filter(|cursor| !cursor.is_empty())
}

/// What `portal_paging.html` reads: the two links, and whether the list runs in recording order.
fn paging_context(older: Option<String>, newest: Option<String>, order: ListOrder) -> Value {
    let in_order = order == ListOrder::OldestFirst;
    minijinja::context! { older => older, newest => newest, in_order => in_order }
}

/// The "Older" link (to `next_cursor`, when there is one) and the "Back to the newest" link
/// (when `uri` is an older page) of the list paged under the query parameter `name`, at `path`
/// (`uri`'s own, or the list's when a form posted elsewhere shows it again). Both keep the rest of the query string (a filter, another list's page), so the older
/// page is of the same list and the other lists of the page stay where they were.
fn paging_links(
    uri: &Uri,
    path: &str,
    name: &str,
    next_cursor: Option<&str>,
) -> (Option<String>, Option<String>) {
    let kept: Vec<(String, String)> = query_pairs(uri)
        .into_iter()
        .filter(|(key, _)| key != name)
        .collect();
    let link = |cursor: Option<&str>| {
        let mut pairs = kept.clone();
        if let Some(cursor) = cursor {
            pairs.push((name.to_owned(), cursor.to_owned()));
        }
        match serde_urlencoded::to_string(&pairs) {
            Ok(query) if query.is_empty() => Some(path.to_owned()),
            Ok(query) => Some(format!("{path}?{query}")),
            Err(_) => None,
        }
    };
    let older = next_cursor.and_then(|cursor| link(Some(cursor)));
    let newest = cursor_of(uri, name).and_then(|_| link(None));
    (older, newest)
}

/// What the session's check needs of a request whose body an extractor goes on to read.
struct Opening {
    headers: HeaderMap,
    extensions: Extensions,
    uri: Uri,
}

impl Opening {
    fn of(request: &Request) -> Opening {
        Opening {
            headers: request.headers().clone(),
            extensions: request.extensions().clone(),
            uri: request.uri().clone(),
        }
    }

    /// The visitor who posted `fields`: CSRF first, then the session.
    async fn visit(&self, portal: &Portal, fields: &Fields) -> Result<Visit, Response> {
        Visit::of_form(portal, &self.headers, &self.extensions, &self.uri, fields).await
    }
}

/// A form posted by anyone (signing in, accepting an invitation; every signed-in form starts
/// here too): its fields, its CSRF token checked before anything else (a form without it: 403 and
/// nothing done).
pub(crate) struct CheckedForm {
    pub(crate) headers: HeaderMap,
    pub(crate) extensions: Extensions,
    pub(crate) uri: Uri,
    pub(crate) fields: Fields,
}

impl FromRequest<Portal> for CheckedForm {
    type Rejection = Response;

    async fn from_request(request: Request, portal: &Portal) -> Result<CheckedForm, Response> {
        let Opening {
            headers,
            extensions,
            uri,
        } = Opening::of(&request);
        let Form(fields) = Form::<Fields>::from_request(request, portal)
            .await
            .map_err(IntoResponse::into_response)?;
        if let Some(refusal) = csrf_refusal(&headers, &uri, &fields) {
            return Err(refusal);
        }
        Ok(CheckedForm {
            headers,
            extensions,
            uri,
            fields,
        })
    }
}

/// A form posted by a signed-in visitor: its fields, its CSRF token checked before anything else
/// (a form without it: 403 and nothing done, signed in or not), then the session.
pub(crate) struct SignedForm {
    pub(crate) visit: Visit,
    pub(crate) fields: Fields,
}

impl FromRequest<Portal> for SignedForm {
    type Rejection = Response;

    async fn from_request(request: Request, portal: &Portal) -> Result<SignedForm, Response> {
        let form = CheckedForm::from_request(request, portal).await?;
        let signed = require_signed_in(portal, &form.headers, &form.extensions, &form.uri).await?;
        Ok(SignedForm {
            visit: Visit::new(portal, signed, &form.headers, &form.uri),
            fields: form.fields,
        })
    }
}

impl SignedForm {
    /// The value of field `name`.
    pub(crate) fn field(&self, name: &str) -> Option<&str> {
        super::field(&self.fields, name)
    }
}

/// A form with a file (`multipart/form-data`) posted by a signed-in visitor: read whole (one that
/// cannot be read: its status and the "unreadable" page), then its CSRF field checked before
/// anything else, then the session, as [`SignedForm`].
pub(crate) struct SignedUpload {
    pub(crate) visit: Visit,
    pub(crate) upload: Upload,
}

impl FromRequest<Portal> for SignedUpload {
    type Rejection = Response;

    async fn from_request(request: Request, portal: &Portal) -> Result<SignedUpload, Response> {
        let opening = Opening::of(&request);
        let multipart = Multipart::from_request(request, portal).await;
        let upload = match read_upload(multipart).await {
            Ok(upload) => upload,
            Err(status) => {
                return Err(error_page(
                    status,
                    "upload-unreadable",
                    negotiate(&opening.headers),
                    &opening.uri,
                ));
            }
        };
        let visit = opening.visit(portal, &upload.fields).await?;
        Ok(SignedUpload { visit, upload })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_links_keep_the_rest_of_the_query() {
        // Proves the Older link carries the list's next cursor on the same path, the link back
        // to the newest drops only that list's cursor, and a filter or another list's cursor
        // stays on both; the first page has no link back, the last no Older link.
        let first: Uri = "/portal/network/users".parse().unwrap();
        assert_eq!(
            paging_links(&first, first.path(), "cursor", Some("c1ab")),
            (Some("/portal/network/users?cursor=c1ab".to_owned()), None)
        );
        let filtered: Uri = "/portal/network/security?kind=sign_in&cursor=c1ab"
            .parse()
            .unwrap();
        assert_eq!(cursor_of(&filtered, "cursor").as_deref(), Some("c1ab"));
        assert_eq!(
            paging_links(&filtered, filtered.path(), "cursor", Some("c1cd")),
            (
                Some("/portal/network/security?kind=sign_in&cursor=c1cd".to_owned()),
                Some("/portal/network/security?kind=sign_in".to_owned())
            )
        );
        let two: Uri = "/portal/network?cursor=c1ab&proposals=c1ef"
            .parse()
            .unwrap();
        assert_eq!(
            paging_links(&two, two.path(), "proposals", None),
            (None, Some("/portal/network?cursor=c1ab".to_owned()))
        );
        let empty: Uri = "/portal/network?cursor=".parse().unwrap();
        assert_eq!(cursor_of(&empty, "cursor"), None);
        assert_eq!(
            paging_links(&empty, empty.path(), "cursor", None),
            (None, None)
        );
        let posted: Uri = "/portal/network/statement-lines/x/assignment?cursor=c1ab"
            .parse()
            .unwrap();
        assert_eq!(
            paging_links(&posted, "/portal/network/statement-lines", "cursor", None),
            (None, Some("/portal/network/statement-lines".to_owned()))
        );
    }
}
