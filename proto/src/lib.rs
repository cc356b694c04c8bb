//! Generated types and gRPC stubs of the ProductResearch mesh v1 API.
//!
//! The `.proto` files next to this crate are the public API; this crate only
//! compiles them. Domain code converts to its own types at each service's edge.

// Generated code: prost sizes oneofs by their largest message; boxing them
// would change the public API for no gain at these sizes.
#![allow(clippy::large_enum_variant)]

/// Encoded `FileDescriptorSet` of every v1 file, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/descriptor.bin"));

pub mod common {
    pub mod v1 {
        tonic::include_proto!("productresearch.common.v1");
    }
}
pub mod user_agent {
    pub mod v1 {
        tonic::include_proto!("productresearch.user_agent.v1");
    }
}
pub mod research_agent {
    pub mod v1 {
        tonic::include_proto!("productresearch.research_agent.v1");
    }
}
pub mod tool_gateway {
    pub mod v1 {
        tonic::include_proto!("productresearch.tool_gateway.v1");
    }
}
pub mod supervisor {
    pub mod v1 {
        tonic::include_proto!("productresearch.supervisor.v1");
    }
}
pub mod distiller {
    pub mod v1 {
        tonic::include_proto!("productresearch.distiller.v1");
    }
}
