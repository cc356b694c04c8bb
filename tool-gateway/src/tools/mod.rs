//! The research agent's four tools. Each is a [`Tool`]: a definition the
//! model reads (name, description, JSON schema of its arguments) and a `run`
//! over the shared [`Backends`]. They are listed once, in [`REGISTERED`]; the
//! gateway finds a call's tool by name in the [`Registry`] and never matches
//! on tool names itself.

mod arguments;
pub mod backends;
mod budget;
mod goal;
mod product_search;
pub mod store;
mod visit_product;
mod web_search;
mod web_visit;

use serde_json::Value;

pub use arguments::ArgumentSchema;
pub use backends::Backends;

use crate::BoxFuture;
use crate::config::Config;
use crate::error::Error;
use crate::outcome::ToolError;

/// A tool as the model sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolDefinition {
    pub name: &'static str,
    /// What the tool does and returns, written for the model.
    pub description: String,
    /// JSON schema of the arguments object.
    pub parameters: Value,
}

/// One tool the agent can call.
pub trait Tool: Send + Sync {
    /// Name, description and argument schema.
    fn definition(&self) -> &ToolDefinition;

    /// Runs a call whose arguments already passed the schema.
    fn run<'a>(&'a self, backends: &'a Backends, arguments: Value) -> BoxFuture<'a, Result<String, ToolError>>;

    /// What answers a call with these arguments (`catalog`, `corpus`, `live`,
    /// a search provider's name): recorded with the response.
    fn backend(&self, backends: &Backends, arguments: &Value) -> &'static str;
}

/// Builds one tool from the config's limits.
pub type Register = fn(&Config) -> Box<dyn Tool>;

/// The tools, in the order the model sees them; each is built from the
/// limits in the config.
pub const REGISTERED: [Register; 4] = [product_search::register, visit_product::register, web_search::register, web_visit::register];

/// The registered tools with their compiled argument schemas.
pub struct Registry {
    tools: Vec<(Box<dyn Tool>, ArgumentSchema)>,
}

impl Registry {
    pub fn new(config: &Config) -> Result<Registry, Error> {
        let tools = REGISTERED
            .iter()
            .map(|register| {
                let tool = register(config);
                let schema = ArgumentSchema::new(tool.definition())?;
                Ok((tool, schema))
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(Registry { tools })
    }

    /// The tool called `name`, with its schema.
    pub fn get(&self, name: &str) -> Option<(&dyn Tool, &ArgumentSchema)> {
        self.tools.iter().find(|(tool, _)| tool.definition().name == name).map(|(tool, schema)| (tool.as_ref(), schema))
    }

    pub fn definitions(&self) -> impl Iterator<Item = &ToolDefinition> {
        self.tools.iter().map(|(tool, _)| tool.definition())
    }
}
