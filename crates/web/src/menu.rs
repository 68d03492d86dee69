//! The left menu: each module's section of entries, shown to the users who may open them.
//! Modules hand their entries to the shell ([`crate::module::Module::menu`]); the shell keeps
//! the sections in its state and each page shows those the user may see.

/// An entry of the left menu, shown to users who hold `permission`. A page that holders of
/// either of two grants may open is listed twice, once with each, and shown once.
#[derive(Debug, Clone)]
pub struct MenuItem {
    pub label_key: &'static str,
    pub href: &'static str,
    /// Empty: every signed-in user sees it.
    pub permission: &'static str,
}

/// A menu section: a module's title and its entries.
#[derive(Debug, Clone)]
pub struct MenuSection {
    pub title_key: &'static str,
    pub items: Vec<MenuItem>,
}
